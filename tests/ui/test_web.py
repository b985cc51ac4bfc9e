"""``pan-gym web`` end to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

The server runs in a thread on a free 127.0.0.1 port with the tiny random model. The browser picks a start state,
types an action, waits for the imagined frames, undoes, and a screenshot must not be blank (pixel variance).
Screenshots are kept in ``$PAN_GYM_SCREENSHOTS`` (default: pytest's tmp dir) to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = os.environ.get("PAN_GYM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def server(tiny_model):
    from pan_gym.ui.web import App, make_server

    app = App(tiny_model, "babyai", "preset 'tiny' (random weights)", random_weights=True)
    srv = make_server(app, port=0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    srv.server_close()
    app.close()


def _request(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    req = urllib.request.Request(url, data, headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def _post(url: str, body: dict) -> tuple[int, dict]:
    return _request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})


def test_api_roundtrip_and_errors(server):
    """The JSON API without a browser: session, step, undo, GIF, and clear errors."""
    status, s = _post(server + "/api/session", {"seed": 2})
    assert status == 200 and s["mission"] and s["frame"].startswith("data:image/png;base64,")
    status, r = _post(server + "/api/step", {"id": s["id"], "action": "turn left"})
    assert status == 200 and r["step"] == 1 and len(r["imagined"]) == 2 and len(r["true"]) == 4
    # model takes any text
    status, r = _post(server + "/api/step", {"id": s["id"], "action": "do a backflip"})
    assert status == 200 and r["true"] is None and "cannot execute" in r["note"]
    status, u = _post(server + "/api/undo", {"id": s["id"]})
    assert status == 200 and u["step"] == 1 and u["true_frame"]
    with urllib.request.urlopen(f"{server}/api/video/{s['id']}.gif", timeout=30) as resp:
        assert resp.read(6) == b"GIF89a"
    assert _post(server + "/api/step", {"id": "nope", "action": "turn left"})[0] == 400
    assert _post(server + "/api/step", {"id": s["id"], "action": ""})[0] == 400
    assert _post(server + "/api/session", {"seed": "two"})[0] == 400
    req = urllib.request.Request(server + "/api/info", headers={"Host": "attacker.example"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 403


@pytest.fixture(scope="module")
def running(tiny_model):
    """The server object itself (to read its socket), with a 1 s idle timeout."""
    from pan_gym.ui import web

    app = web.App(tiny_model, "babyai", "preset 'tiny' (random weights)", random_weights=True)
    old, web.TIMEOUT_S = web.TIMEOUT_S, 1
    try:
        srv = web.make_server(app, port=0)
    finally:
        web.TIMEOUT_S = old
    srv.app = app
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()
    srv.server_close()
    app.close()


def test_server_binds_loopback_only(running):
    assert running.socket.getsockname()[0] == "127.0.0.1"


def _raw(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    return _request(f"http://127.0.0.1:{port}/api/session", body, headers)


def test_post_from_another_origin_or_not_json_is_refused(running):
    port, body = running.server_port, json.dumps({"seed": 1}).encode()
    json_ct = {"Content-Type": "application/json"}
    assert _raw(port, body, {**json_ct, "Origin": "https://attacker.example"})[0] == 403
    assert _raw(port, body, {**json_ct, "Origin": f"http://localhost:{port + 1}"})[0] == 403
    assert _raw(port, body, {"Content-Type": "text/plain"})[0] == 415  # what a cross-site form can send
    assert _raw(port, body, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 415
    assert _raw(port, body, {**json_ct, "Origin": f"http://127.0.0.1:{port}"})[0] == 200  # the page itself
    assert _raw(port, body, json_ct)[0] == 200  # a script (no Origin header)


def test_deeply_nested_json_is_a_bad_request(running):
    status, reply = _raw(
        running.server_port, b"[" * 5_000 + b"]" * 5_000, {"Content-Type": "application/json"}
    )
    assert status == 400 and "nested too deeply" in reply["error"]


def test_a_stalled_client_is_disconnected(running):
    with socket.create_connection(("127.0.0.1", running.server_port), timeout=10) as sock:
        sock.sendall(b"POST /api/session HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # ... and never finishes
        t0 = time.monotonic()
        assert sock.recv(1024) == b""  # the server closed the connection
        assert time.monotonic() - t0 < 8


def test_two_hundred_concurrent_requests_are_all_answered(running):
    url = f"http://127.0.0.1:{running.server_port}/api/info"

    def get(_):
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status

    with ThreadPoolExecutor(200) as pool:
        assert list(pool.map(get, range(200))) == [200] * 200


def test_sessions_cap_their_steps_and_undo_depth(running, monkeypatch):
    from pan_gym.ui import web

    monkeypatch.setattr(web, "MAX_STEPS", 3)
    port = running.server_port
    post = lambda path, body: _post(f"http://127.0.0.1:{port}{path}", body)  # noqa: E731
    sid = post("/api/session", {"seed": 0})[1]["id"]
    assert [post("/api/step", {"id": sid, "action": "turn left"})[0] for _ in range(4)] == [
        200,
        200,
        200,
        400,
    ]
    assert running.app.sessions[sid].max_undo == web.MAX_UNDO


def _not_blank(png: Path) -> float:
    from PIL import Image

    img = np.asarray(Image.open(png).convert("RGB"), dtype=np.float64)
    return float(img.var())


def test_browser_end_to_end(server, tmp_path):
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    shots = Path(os.environ.get("PAN_GYM_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    console_errors: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 1000})
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            page.goto(server + "/")
            page.wait_for_selector("body[data-ready='1']", timeout=30_000)
            assert page.locator(".start").count() == 6
            assert page.locator("#warn").is_visible()  # random weights are announced
            page.locator(".start[data-seed='2']").click()
            page.wait_for_selector("#action:not([disabled])", timeout=30_000)
            assert "put the blue ball next to the blue box" in page.inner_text("#mission")
            for i, action in enumerate(["turn right", "move forward"], 1):
                page.fill("#action", action)
                page.press("#action", "Enter")
                page.wait_for_selector(f"#status[data-steps='{i}']", timeout=30_000)
                page.wait_for_selector("body[data-playing='0']", timeout=30_000)
            assert page.locator("#film .thumb").count() == 2
            assert "Step 2: move forward" in page.inner_text("#status")
            page.screenshot(path=str(shots / "web_after_actions.png"), full_page=True)
            page.click("#undo")
            page.wait_for_selector("#status[data-steps='1']", timeout=30_000)
            assert page.locator("#film .thumb").count() == 1
            page.screenshot(path=str(shots / "web_after_undo.png"), full_page=True)
            for side in ("imagined", "true"):
                img = page.locator(f"#{side}")
                assert img.evaluate("el => el.complete && el.naturalWidth") == 64
                img.screenshot(path=str(shots / f"web_{side}_panel.png"))
        finally:
            browser.close()
    assert not console_errors, console_errors
    for name in (
        "web_after_actions.png",
        "web_after_undo.png",
        "web_imagined_panel.png",
        "web_true_panel.png",
    ):
        assert _not_blank(shots / name) > 100.0, f"{name} looks blank"
