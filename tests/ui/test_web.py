"""``pan-gym web`` end to end in headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

The server runs in a thread on a free 127.0.0.1 port with the tiny random model. The browser picks a start state,
types an action, waits for the imagined frames, undoes, and a screenshot must not be blank (pixel variance).
Screenshots are kept in ``$PAN_GYM_SCREENSHOTS`` (default: pytest's tmp dir) to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.error
import urllib.request
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


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_api_roundtrip_and_errors(server):
    """The JSON API without a browser: session, step, undo, GIF, and clear errors."""
    status, s = _post(server + "/api/session", {"seed": 2})
    assert status == 200 and s["mission"] and s["frame"].startswith("data:image/png;base64,")
    status, r = _post(server + "/api/step", {"id": s["id"], "action": "turn left"})
    assert status == 200 and r["step"] == 1 and len(r["imagined"]) == 2 and len(r["true"]) == 4
    status, r = _post(
        server + "/api/step", {"id": s["id"], "action": "do a backflip"}
    )  # model takes any text
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


def test_server_binds_loopback_only(server):
    from pan_gym.ui.web import HOST

    assert HOST == "127.0.0.1" and server.startswith("http://127.0.0.1:")


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
