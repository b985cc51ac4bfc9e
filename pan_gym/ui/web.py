"""``pan-gym web``: a small local web page to pick a start state, type actions and watch the imagined video.

Standard library only (``http.server``); it binds to 127.0.0.1 and answers only requests addressed to it by a
local host name (a guard against DNS rebinding). A POST must be ``application/json`` and, when the browser names
its origin, come from this server's own page, so another web page cannot create or evict sessions. One model serves
every browser tab; each tab has its own ``Session`` (imagined rollout + the true world following it), and the model
runs one request at a time. Memory is bounded: at most ``MAX_SESSIONS`` sessions (the least recently used is
dropped), ``MAX_STEPS`` actions per session, the last ``MAX_UNDO`` of them undoable; a client that stalls for
``TIMEOUT_S`` is disconnected.

JSON API (what the page in ``pan_gym/assets/web/index.html`` uses; frames are 64×64 PNG data URLs):
    GET  /api/info                          model description, random_weights, world, fps
    GET  /api/starts?n=6&offset=0           start states: seed, mission, frame
    POST /api/session  {"seed": 2}          a new session: id, mission, frame, actions
    POST /api/step     {"id", "action"}     imagined frames, true frames (or null), reward, figures, note, actions
    POST /api/undo     {"id"}               back one action: step, frame, true_frame
    GET  /api/video/ID.gif                  the session so far, imagined | true side by side

Example (random weights; open the printed address in a browser):

    pan-gym web --model tiny --port 8765
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
from collections import OrderedDict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, urlparse

import numpy as np
import typer

from pan_gym.cli_errors import exit_on
from pan_gym.ui.common import ModelOption, png_bytes
from pan_gym.ui.session import Session

HOST = "127.0.0.1"
PAGE = Path(__file__).resolve().parents[1] / "assets" / "web" / "index.html"
MAX_BODY = 16_384  # bytes of a JSON request
MAX_SESSIONS = 16  # the least recently used session is dropped beyond this
MAX_STEPS = 200  # actions per session (start a new one from the page to go on)
MAX_UNDO = 32  # actions a session can take back
TIMEOUT_S = 30  # a connection idle this long is closed (a stalled client holds no thread)
BACKLOG = 128  # connections waiting to be accepted
EXAMPLES = """
Examples:

  pan-gym web                          # the shipped model (once it ships) at http://127.0.0.1:8765/

  pan-gym web --model tiny --port 0    # random weights, any free port (the address is printed)
"""


def data_url(frame: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(png_bytes(frame)).decode()


class BadRequest(Exception):
    pass


class App:
    """The state behind the server: the model, sessions by id, a lock serialising model calls."""

    def __init__(
        self, model: Any, world: str = "babyai", description: str = "", random_weights: bool = False
    ):
        self.model, self.world_name = model, world
        self.description, self.random_weights = description, random_weights
        self.sessions: OrderedDict[str, Session] = OrderedDict()
        self.lock = threading.Lock()
        self._starts_world = None

    # ---- handlers: each returns a JSON-able dict (or raises BadRequest) ----
    def info(self) -> dict:
        return {
            "model": self.description,
            "random_weights": self.random_weights,
            "world": self.world_name,
            "fps": 6,
        }

    def starts(self, n: int = 6, offset: int = 0) -> dict:
        if not (1 <= n <= 24) or offset < 0:
            raise BadRequest("n must be in 1..24 and offset >= 0")
        from pan_gym.worlds import make_world

        with self.lock:
            if self._starts_world is None:
                self._starts_world = make_world(self.world_name)
            out = []
            for seed in range(offset, offset + n):
                frame, info = self._starts_world.reset(seed=seed)
                out.append({"seed": seed, "mission": str(info.get("mission", "")), "frame": data_url(frame)})
        return {"starts": out}

    def _session(self, body: dict) -> Session:
        sid = body.get("id")
        if not isinstance(sid, str) or sid not in self.sessions:
            raise BadRequest("unknown or expired session id: pick a start state again")
        self.sessions.move_to_end(sid)
        return self.sessions[sid]

    def new_session(self, body: dict) -> dict:
        seed = body.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**31:
            raise BadRequest("seed must be an integer in [0, 2**31)")
        with self.lock:
            s = Session(self.model, self.world_name, max_undo=MAX_UNDO)
            frame = s.reset(seed)
            sid = secrets.token_hex(8)
            self.sessions[sid] = s
            while len(self.sessions) > MAX_SESSIONS:
                self.sessions.popitem(last=False)[1].close()
            return {
                "id": sid,
                "seed": seed,
                "mission": s.mission,
                "frame": data_url(frame),
                "actions": s.actions("agent"),
            }

    def step(self, body: dict) -> dict:
        action = body.get("action")
        if not isinstance(action, str) or not action.strip():
            raise BadRequest("action must be a non-empty string")
        with self.lock:
            s = self._session(body)
            if s.steps >= MAX_STEPS:
                raise BadRequest(f"a session holds at most {MAX_STEPS} actions: pick a start state again")
            try:
                r = s.step(action.strip())
            except ValueError as e:
                raise BadRequest(f"the model cannot take this action: {e}") from None
            return {
                "step": s.steps,
                "action": r.action,
                "imagined": [data_url(f) for f in r.imagined],
                "true": None if r.true is None else [data_url(f) for f in r.true],
                "reward": r.reward,
                "figures": r.figures,
                "note": r.note,
                "actions": s.actions("agent"),
            }

    def undo(self, body: dict) -> dict:
        with self.lock:
            s = self._session(body)
            if not s.undo():
                raise BadRequest(f"nothing to undo (the last {MAX_UNDO} actions can be taken back)")
            last = s.history[-1] if s.history else None
            frame = last.imagined[-1] if last else s.start_frame
            true = (last.true[-1] if last.true is not None else None) if last else s.start_frame
            return {
                "step": s.steps,
                "frame": data_url(frame),
                "true_frame": None if true is None else data_url(true),
                "actions": s.actions("agent"),
            }

    def video(self, sid: str) -> bytes:
        import tempfile

        from pan_gym.ui.common import write_video

        with self.lock:
            s = self._session({"id": sid})
            frames = s.video()
        with tempfile.TemporaryDirectory() as d:
            path = write_video(frames, Path(d) / "session.gif")
            return path.read_bytes()

    def close(self) -> None:
        for s in self.sessions.values():
            s.close()
        self.sessions.clear()


def make_handler(app: App, quiet: bool = True) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "pan-gym"
        timeout = TIMEOUT_S  # socket timeout: a stalled client is dropped, its thread freed

        def log_message(self, fmt: str, *args: Any) -> None:
            if not quiet:
                super().log_message(fmt, *args)

        def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, obj: dict) -> None:
            self._send(status, json.dumps(obj).encode(), "application/json")

        def _host_ok(self) -> bool:
            host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
            if host in ("127.0.0.1", "localhost", "::1"):
                return True
            self._json(HTTPStatus.FORBIDDEN, {"error": "this server only answers requests for 127.0.0.1"})
            return False

        def _post_ok(self) -> bool:
            """A JSON body from this server's own page: a cross-site form or script gets 403/415."""
            origin = self.headers.get("Origin")
            port = self.server.server_address[1]
            own = {f"http://{h}:{port}" for h in ("127.0.0.1", "localhost", "[::1]")}
            if origin is not None and origin not in own:
                self._json(HTTPStatus.FORBIDDEN, {"error": f"requests from {origin} are not accepted"})
                return False
            ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
            if ctype != "application/json":
                self._json(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "send Content-Type: application/json"}
                )
                return False
            return True

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if not self._host_ok():
                return
            url = urlparse(self.path)
            try:
                if url.path in ("/", "/index.html"):
                    self._send(HTTPStatus.OK, PAGE.read_bytes(), "text/html; charset=utf-8")
                elif url.path == "/api/info":
                    self._json(HTTPStatus.OK, app.info())
                elif url.path == "/api/starts":
                    q = parse_qs(url.query)
                    try:
                        n, off = int(q.get("n", ["6"])[0]), int(q.get("offset", ["0"])[0])
                    except ValueError:
                        raise BadRequest("n and offset must be integers") from None
                    self._json(HTTPStatus.OK, app.starts(n, off))
                elif url.path.startswith("/api/video/") and url.path.endswith(".gif"):
                    sid = url.path[len("/api/video/") : -len(".gif")]
                    self._send(
                        HTTPStatus.OK,
                        app.video(sid),
                        "image/gif",
                        {"Content-Disposition": 'attachment; filename="pan-gym-session.gif"'},
                    )
                else:
                    self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {url.path}"})
            except BadRequest as e:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(e)})

        def do_POST(self) -> None:  # noqa: N802
            if not (self._host_ok() and self._post_ok()):
                return
            routes = {"/api/session": app.new_session, "/api/step": app.step, "/api/undo": app.undo}
            route = routes.get(urlparse(self.path).path)
            if route is None:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {self.path}"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                if not 0 < length <= MAX_BODY:
                    raise BadRequest(f"send a JSON body of 1..{MAX_BODY} bytes")
                body = json.loads(self.rfile.read(length))
                if not isinstance(body, dict):
                    raise BadRequest("the JSON body must be an object")
                self._json(HTTPStatus.OK, route(body))
            except (BadRequest, json.JSONDecodeError, ValueError) as e:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(e)})
            except RecursionError:
                self._json(HTTPStatus.BAD_REQUEST, {"error": "the JSON body is nested too deeply"})
            except Exception as e:  # a model failure: report it, keep serving
                self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"{type(e).__name__}: {e}"})

    return Handler


class _Server(ThreadingHTTPServer):
    request_queue_size = BACKLOG  # listen() backlog: a burst of tabs is queued, not reset
    daemon_threads = True


def make_server(app: App, port: int = 8765, quiet: bool = True) -> ThreadingHTTPServer:
    """An HTTP server for ``app`` on 127.0.0.1:``port`` (0: a free port; read it from ``server.server_port``)."""
    return _Server((HOST, port), make_handler(app, quiet))


def register(app: Any) -> None:
    """Add ``web`` to the typer app."""

    @app.command("web", epilog=EXAMPLES)
    def web_command(
        model: ModelOption = "default",
        world: Annotated[
            str, typer.Option(help="World for start states and true frames (babyai, metaworld).")
        ] = "babyai",
        port: Annotated[
            int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (0: any free port).")
        ] = 8765,
        log: Annotated[bool, typer.Option(help="Log every request.")] = False,
    ) -> None:
        """Serve a local page (127.0.0.1 only): pick a start state, type actions, watch the imagined video."""
        import torch

        from pan_gym.ui.common import ModelSpecError, load_model
        from pan_gym.worlds import WORLDS

        torch.set_num_threads(1)
        if world not in WORLDS:
            raise typer.BadParameter(f"unknown world {world!r}; known: {', '.join(sorted(WORLDS))}")
        with exit_on(ModelSpecError):
            loaded = load_model(model, world)
        state = App(loaded.model, world, loaded.description, loaded.random_weights)
        try:
            server = make_server(state, port, quiet=not log)
        except OSError as e:
            typer.echo(
                f"error: cannot listen on {HOST}:{port}: {e} (try --port 0 for any free port)", err=True
            )
            raise typer.Exit(1) from None
        typer.echo(f"model: {loaded.description}")
        typer.echo(f"serving on http://{HOST}:{server.server_port}/  (Ctrl-C to stop)")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            typer.echo("stopped")
        finally:
            server.server_close()
            state.close()
