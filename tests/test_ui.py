"""The review page (`vidinpaint ui`) in a real browser: Debian's chromium driven by Playwright.

Playwright's own browser download is never used (it cannot work offline); the tests launch the
system's ``chromium`` and skip, saying so, where it or the playwright package is absent.
"""

from __future__ import annotations

import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from vidinpaint.synthetic import walkers, write_clip

from conftest import run_cli

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
MOTION = ["detect.backend=motion", "detect.window=12", "detect.stride=2", "segment.backend=box"]
SETTINGS = [word for s in MOTION for word in ("--set", s)]
FRAMES = 24


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ui") / "walk.mp4"
    write_clip(path, (rgb for rgb, _, _ in walkers(160, 120, FRAMES, people=2, seed=1)), fps=24)
    return path


@dataclass
class Served:
    """A ``vidinpaint ui`` subprocess, the URL it printed, and what it prints on stderr after that."""

    process: subprocess.Popen
    url: str
    lines: queue.Queue
    reader: threading.Thread

    def stop(self) -> str:
        """SIGTERM, as ``kill`` or a supervisor stops it; returns the stderr it printed after the URL."""
        self.process.terminate()
        self.process.wait(timeout=60)
        self.reader.join(timeout=60)
        said = []
        while not self.lines.empty():
            said.append(self.lines.get_nowait())
        return "".join(said)


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _start(args: list[str], timeout: float = 90, ignore_sigint: bool = False) -> Served:
    """``vidinpaint ui ARGS`` in a subprocess, returned once it prints the URL it serves;
    ``ignore_sigint``: started as a script's background job is (``cmd &``), SIGINT ignored."""
    env = {**os.environ, "COLUMNS": "40", "NO_COLOR": "1"}
    server = subprocess.Popen([sys.executable, "-m", "vidinpaint", "ui", *args], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
                              preexec_fn=_ignore_sigint if ignore_sigint else None)
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in server.stderr], daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if server.poll() is not None:
                break
            continue
        seen.append(line)
        found = re.search(r"review page: (http://\S+)", line)
        if found:
            return Served(server, found.group(1), lines, reader)
    server.kill()
    pytest.fail(f"no URL from `vidinpaint ui` within {timeout} s; stderr: {''.join(seen)!r}")


PROXY = "devbox.example"  # the Host a proxy in front of the module's server sends


@pytest.fixture(scope="module")
def server(clip):
    served = _start([str(clip), "--port", "0", "--allow-host", PROXY, *SETTINGS])
    yield served.url
    served.stop()


@pytest.fixture(scope="module")
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed "
                                         "(pip install playwright; its browser download is not needed)")
    if CHROMIUM is None:
        pytest.skip("Debian's chromium package is not installed (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(accept_downloads=True, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(120_000)
    page.goto(server)
    page.wait_for_function("document.getElementById('clip').textContent.includes('frames')")
    yield page
    context.close()


def _scrub(page, frame: int) -> None:
    """Move the scrubber to ``frame``, as a drag of it does."""
    page.eval_on_selector("#scrub", "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", frame)


def test_the_url_says_local_only_and_binds_loopback(clip):
    served = _start([str(clip), "--port", "0", *SETTINGS])
    try:
        assert served.url.startswith("http://127.0.0.1:")
    finally:
        served.stop()


def test_a_bad_input_argument_is_the_clis_error_line(tmp_path):
    missing = tmp_path / "missing.mp4"
    ui = run_cli("ui", str(missing), "--port", "0")
    clean = run_cli("clean", str(missing))
    assert ui.returncode == clean.returncode == 1
    assert ui.stderr.strip() == clean.stderr.strip() == f"error: {missing}: no such file or folder"


def test_a_taken_port_is_one_error_line(clip):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ui = run_cli("ui", str(clip), "--port", str(port))
    assert ui.returncode == 1
    assert re.fullmatch(rf"error: cannot serve on 127\.0\.0\.1:{port}: .+; choose another --port\n", ui.stderr)


def test_page_shows_the_clip_and_its_frames(page, clip):
    assert f"{FRAMES} frames, 160x120" in page.inner_text("#clip")
    page.wait_for_function("document.getElementById('frame').naturalWidth === 160")
    _scrub(page, 17)
    page.wait_for_function("document.getElementById('frame').src.endsWith('/api/frame/17.jpg')")
    assert page.inner_text("#frame-no") == "17"


def test_a_bad_path_in_the_page_shows_the_clis_error(page, tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"no video here" * 50)
    cli = run_cli("clean", str(junk))
    assert cli.returncode == 1 and cli.stderr.startswith("error: ")
    page.fill("#open-path", str(junk))
    page.click("#open")
    page.wait_for_function("document.getElementById('error').textContent !== ''")
    assert page.inner_text("#error") == cli.stderr.strip()
    assert f"{FRAMES} frames" in page.inner_text("#clip")  # the open clip is still there


def _show_a_track(page) -> tuple[int, str]:
    """Scrub to the first track's first frame once the tracks are listed: (that frame, its id)."""
    page.wait_for_function("/^\\d+ tracks$/.test(document.getElementById('listing').textContent)")
    rows = page.query_selector_all("#tracks button.state")
    assert rows, "the motion detector found no track in the walkers clip"
    track = rows[0].get_attribute("data-id")
    first = int(page.inner_text("#tracks tr:first-child td:nth-child(3)").split("-")[0])
    _scrub(page, first)
    page.wait_for_selector(f"#overlay[data-frame='{first}'] rect.track[data-id='{track}']")
    return first, track


def test_clicking_a_track_toggles_it(page, tmp_path):
    first, track = _show_a_track(page)
    box = f"#overlay[data-frame='{first}'] rect.track[data-id='{track}']"
    page.click("#preview")
    page.wait_for_function(f"document.getElementById('preview-status').textContent === 'frame {first}'",
                           timeout=180_000)
    page.click(box)
    # the preview was made with the track removed: it says it is out of date (it stayed as it was)
    page.wait_for_function("document.getElementById('preview-status').textContent.includes('out of date')")
    page.wait_for_selector(f"#tracks button.keep[data-id='{track}']")
    page.wait_for_selector(f"#overlay rect.track.keep[data-id='{track}']")
    with page.expect_download() as download:
        page.click("#tracks-link")
    saved = tmp_path / "tracks.json"
    download.value.save_as(saved)
    remove = {entry["id"]: entry["remove"] for entry in json.loads(saved.read_text())["tracks"]}
    assert remove[int(track)] is False
    assert all(remove[other] for other in remove if other != int(track))
    page.click(f"#tracks button[data-id='{track}']")  # and back
    page.wait_for_selector(f"#tracks button.remove[data-id='{track}']")


def test_run_the_clip_and_download_the_result(page, tmp_path):
    output = tmp_path / "walk.clean.mp4"
    page.fill("#output", str(output))
    page.click("#run")
    page.wait_for_selector("#result-link:not([hidden])", timeout=180_000)
    assert f"{FRAMES} frames" in page.inner_text("#run-status")
    assert page.eval_on_selector("#progress", "(el) => el.value === el.max")
    assert "detect" in page.inner_text("#backends") and "motion" in page.inner_text("#backends")
    assert "shots" in page.inner_text("#shots") or "cuts" in page.inner_text("#shots")
    with page.expect_download() as download:
        page.click("#result-link")
    saved = tmp_path / "downloaded.mp4"
    download.value.save_as(saved)
    with av.open(str(saved)) as video:
        assert sum(1 for _ in video.decode(video=0)) == FRAMES


def test_no_clip_then_upload_one(browser, clip):
    served = _start(["--port", "0", *SETTINGS])
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(served.url)
        page.wait_for_function("document.getElementById('clip').textContent === 'no clip open'")
        page.set_input_files("#upload", str(clip))
        page.wait_for_function("document.getElementById('clip').textContent.includes('frames')")
        assert re.search(rf"/upload-[^/]+/{clip.name}: {FRAMES} frames, 160x120", page.inner_text("#clip"))
        assert page.input_value("#output").endswith(f"/{clip.stem}.clean.mp4")
        page.wait_for_function("document.getElementById('frame').naturalWidth === 160")
    finally:
        context.close()
        served.stop()


def test_a_run_that_cannot_write_shows_the_clis_error(page, clip):
    cli = run_cli("clean", str(clip), "-o", str(clip), "--set", "detect.backend=motion")
    assert cli.returncode == 1 and "is the input file" in cli.stderr
    page.fill("#output", str(clip))
    page.click("#run")
    page.wait_for_function("document.getElementById('error').textContent.includes('input file')")
    # the boxes read after each poll wiped the error as it appeared: it stays through another such read
    _scrub(page, 3)
    page.wait_for_selector("#overlay[data-frame='3']", state="attached")
    assert page.inner_text("#error") == cli.stderr.strip()
    # refused as the answer to Run: no run started, none failed (an earlier run's line may stay)
    assert not page.inner_text("#run-status").startswith(("running", "failed"))


def test_a_click_and_a_drag_add_objects(page):
    page.wait_for_function("document.getElementById('frame').naturalWidth === 160")
    frame = page.eval_on_selector("#scrub", "(el) => Number(el.value)")
    image = page.locator("#frame").bounding_box()
    k = image["width"] / 160

    def at(x: float, y: float) -> tuple[float, float]:
        return image["x"] + x * k, image["y"] + y * k

    try:
        page.check("input[name=mode][value=point]")
        page.mouse.click(*at(80.2, 60.2))
        page.wait_for_function("document.getElementById('prompts').textContent !== 'none'")
        assert page.inner_text("#prompts") == f"point 80,60@{frame}"
        page.check("input[name=mode][value=box]")
        page.mouse.move(*at(100.2, 90.2))
        page.mouse.down()
        page.mouse.move(*at(40.2, 20.2), steps=4)
        page.mouse.up()
        page.wait_for_function("document.getElementById('prompts').textContent.includes('box')")
        assert page.inner_text("#prompts") == f"point 80,60@{frame}; box 40,20,100,90@{frame}"
        assert page.inner_text("#command").endswith(f"--point 80,60@{frame} --box 40,20,100,90@{frame}")
        page.wait_for_function("document.querySelectorAll('#overlay .prompt').length === 2")  # drawn on the frame
    finally:
        page.click("#clear-prompts")
        page.check("input[name=mode][value=toggle]")
    page.wait_for_function("document.getElementById('prompts').textContent === 'none'")


# Whether track ARG[0]'s rectangle lies on its box ARG[1] (frame pixels) at the frame's shown size.
ON_ITS_BOX = """([id, box]) => {
  const img = document.getElementById('frame'), k = img.clientWidth / img.naturalWidth;
  const rect = document.querySelector(`#overlay rect.track[data-id='${id}']`);
  return rect !== null && [rect.x, rect.y, rect.width, rect.height].every((a, i) =>
    Math.abs(a.baseVal.value - (i < 2 ? box[i] : box[i] - box[i - 2]) * k) < 0.5);
}"""


def test_the_boxes_follow_the_frame_when_the_window_resizes(page):
    """The boxes were laid out at the frame's size when it loaded, and stayed there as it resized."""
    first, track = _show_a_track(page)
    boxes = page.evaluate(f"fetch('/api/boxes/{first}').then((r) => r.json())")
    box = next(b["box"] for b in boxes if b["id"] == int(track))
    page.wait_for_function(ON_ITS_BOX, arg=[track, box])
    wide = page.eval_on_selector("#frame", "(el) => el.clientWidth")
    page.set_viewport_size({"width": 400, "height": 800})
    page.wait_for_function(f"document.getElementById('frame').clientWidth !== {wide}")
    page.wait_for_function(ON_ITS_BOX, arg=[track, box])


def test_a_narrow_window_puts_the_side_panel_under_the_frame(page):
    """At 400 px the side panel kept its 280 px and squeezed the frame beside it."""
    page.set_viewport_size({"width": 400, "height": 800})
    layout = page.evaluate("""() => ({
        frame: document.getElementById('view').getBoundingClientRect().toJSON(),
        tracks: document.getElementById('tracks').closest('section').getBoundingClientRect().toJSON(),
        overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth})""")
    assert layout["tracks"]["top"] >= layout["frame"]["bottom"]
    assert layout["frame"]["width"] >= 300 and layout["overflow"] == 0


def _tab_to(page, selector: str, tries: int, what: str) -> str:
    """Press Tab until the element ``selector`` has the focus (at most ``tries`` times); returns
    the script that says whether it still has it."""
    focused = f"document.activeElement.matches(\"{selector}\")"
    for _ in range(tries):
        page.keyboard.press("Tab")
        if page.evaluate(focused):
            return focused
    pytest.fail(f"Tab never reached {what}")


def test_the_keyboard_reaches_and_toggles_a_track(page):
    """Tab reaches a track's toggle button and Enter or Space flips it, keeping the focus there
    (the table was rebuilt on each toggle and poll, which dropped the focus); aria-pressed says
    whether it goes."""
    _, track = _show_a_track(page)
    button = f"#tracks button[data-id='{track}']"
    assert page.get_attribute(button, "aria-pressed") == "true"
    assert page.get_attribute(button, "aria-label").startswith(f"remove track {track} ")
    focused = _tab_to(page, button, 50, "the track's button")
    assert page.eval_on_selector(button, "(el) => el.matches(':focus-visible') && "
                                         "getComputedStyle(el).outlineStyle !== 'none'")
    page.keyboard.press("Space")
    page.wait_for_selector(f"#tracks button.keep[data-id='{track}'][aria-pressed='false']")
    assert page.evaluate(focused)
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#tracks button.remove[data-id='{track}'][aria-pressed='true']")
    assert page.evaluate(focused)


def test_the_keyboard_reaches_and_toggles_a_box_on_the_frame(page):
    """The boxes on the frame took a click only: Tab now reaches each, Enter or Space flips it as
    its list entry's button does (same name, aria-pressed), and the focus stays on it as it is redrawn."""
    _, track = _show_a_track(page)
    box = f"#overlay rect.track[data-id='{track}']"
    assert page.get_attribute(box, "role") == "button" and page.get_attribute(box, "aria-pressed") == "true"
    assert page.get_attribute(box, "aria-label") == page.get_attribute(f"#tracks button[data-id='{track}']",
                                                                       "aria-label")
    page.focus("#open-path")
    focused = _tab_to(page, box, 20, "the track's box on the frame")
    assert page.eval_on_selector(box, "(el) => el.matches(':focus-visible')")
    for key, pressed, state in (("Space", "false", "keep"), ("Enter", "true", "remove")):
        page.keyboard.press(key)
        page.wait_for_selector(f"#tracks button.{state}[data-id='{track}']")
        page.wait_for_selector(f"{box}[aria-pressed='{pressed}']")
        page.wait_for_function(focused)


def test_a_tracks_button_is_named_by_its_visible_text(page):
    """A kept track's button read "keep" while its accessible name was "remove track N (...)":
    the visible text was not in the name (WCAG 2.5.3), so "click keep" by voice reached nothing."""
    _, track = _show_a_track(page)
    button = f"#tracks button[data-id='{track}']"
    named = "(el) => el.getAttribute('aria-label').startsWith(el.textContent.trim() + ' ')"
    for pressed, then in (("true", "false"), ("false", "true")):  # and back, for the other tests
        assert page.get_attribute(button, "aria-pressed") == pressed
        assert page.eval_on_selector(button, named), page.eval_on_selector(button, "(el) => el.outerHTML")
        page.click(button)
        page.wait_for_selector(f"{button}[aria-pressed='{then}']")


def test_an_answer_older_than_the_state_shown_is_dropped(page):
    """A poll sent before a toggle and answered after the toggle's own answer put the track back
    on screen as it was, while the server had it toggled (seen once in CI, under load)."""
    _, track = _show_a_track(page)
    button = f"#tracks button[data-id='{track}']"
    page.click(button)
    page.wait_for_selector(f"{button}[aria-pressed='false']")
    stale = "(id) => ({...state, version: state.version - 1, tracks: state.tracks.map((t) => ({...t, remove: true}))})"
    page.evaluate(f"render(({stale})({track}))")
    assert page.get_attribute(button, "aria-pressed") == "false"  # the older answer changed nothing
    page.evaluate(f"render({{...({stale})({track}), session: 'a server started again'}})")
    assert page.get_attribute(button, "aria-pressed") == "true"  # another server's: taken as it is
    page.evaluate("refresh()")
    page.wait_for_selector(f"{button}[aria-pressed='false']")
    page.click(button)  # as it was, for the other tests
    page.wait_for_selector(f"{button}[aria-pressed='true']")


def test_a_frame_the_server_cannot_give_is_a_line_not_a_broken_image(page):
    """The page showed the browser's broken-image icon and no reason."""
    page.wait_for_function("document.getElementById('frame').naturalWidth === 160")
    reason = "walk.mp4: Invalid data found when processing input"
    page.route("**/api/frame/5.jpg", lambda route: route.fulfill(status=400, json={"error": reason}))
    _scrub(page, 5)
    page.wait_for_selector("#frame-error", state="visible")
    assert page.inner_text("#frame-error") == f"error: frame 5: {reason}"
    assert not page.is_visible("#frame")
    _scrub(page, 6)
    page.wait_for_selector("#frame-error", state="hidden")
    page.wait_for_function("document.getElementById('frame').src.endsWith('/api/frame/6.jpg')")
    page.wait_for_selector("#frame", state="visible")


def test_a_reload_keeps_the_output_path_typed(page, tmp_path):
    """A reload put the default output back in place of the path the user had typed."""
    typed = str(tmp_path / "typed.mp4")
    page.fill("#output", typed)
    page.reload()
    page.wait_for_function("document.getElementById('clip').textContent.includes('frames')")
    assert page.input_value("#output") == typed


def _request(url: str, path: str, body: dict | None = None, host: str | None = None) -> tuple[int, str]:
    """GET ``path`` of the server at ``url``, or POST ``body`` as the page does; ``host``: the Host
    header a proxy in front of the server sends. Returns (status, body)."""
    parts = urllib.parse.urlsplit(url)
    headers = {"X-Vidinpaint": "test"} | ({"Host": f"{host}:443"} if host else {})
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET" if body is None else "POST", path, None if body is None else json.dumps(body),
                           headers)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_a_proxys_host_name_is_answered_once_allowed(server):
    """Behind a proxy (VS Code's port forwarding, Jupyter's server proxy) the Host is the proxy's
    name, and the page was refused with no way to allow it."""
    assert _request(server, "/api/state", host=PROXY.upper())[0] == 200
    status, body = _request(server, "/api/state", host="other.example")
    assert status == 403 and json.loads(body)["error"].endswith("--allow-host other.example")


def test_allow_host_on_a_server_for_any_host_name_says_it_does_nothing(clip):
    """Bound to 0.0.0.0 the server answers any host name: --allow-host changed nothing and said nothing."""
    served = _start([str(clip), "--port", "0", "--host", "0.0.0.0", "--allow-host", PROXY, *SETTINGS])
    try:
        assert _request(served.url, "/api/state", host="other.example")[0] == 200  # serving: past the warning
    finally:
        said = served.stop()
    assert said == ("warning: --allow-host has no effect on a server bound to 0.0.0.0: it answers any host "
                    "name already\nreview page stopped by SIGTERM\n")


def test_the_page_works_under_a_proxys_path(browser, server):
    """Jupyter's server proxy serves the page under /proxy/PORT/: the page's absolute /api/ URLs
    left that path. Here the browser plays the proxy, passing /proxy/8765/* on to the server."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(120_000)
        prefix = server + "proxy/8765/"
        page.route(server + "api/**", lambda route: route.abort())  # the proxy's own server has no /api/
        page.route(prefix + "**", lambda route: route.continue_(url=server + route.request.url[len(prefix):]))
        page.goto(prefix)
        page.wait_for_function("document.getElementById('clip').textContent.includes('frames')")
        page.wait_for_function("document.getElementById('frame').naturalWidth === 160")
    finally:
        context.close()


def test_a_stalled_upload_does_not_hold_a_stopping_server_and_an_ignored_sigint_stays_ignored(clip):
    """Started with SIGINT ignored (a script's background job), the server stopped on it without a
    word (a run's temporary output was left); SIGTERM waited for an upload that never finished."""
    served = _start([str(clip), "--port", "0", *SETTINGS], ignore_sigint=True)
    parts = urllib.parse.urlsplit(served.url)
    stalled = socket.create_connection((parts.hostname, parts.port), timeout=60)
    try:
        stalled.sendall(b"POST /api/upload?name=stall.mp4 HTTP/1.1\r\nHost: 127.0.0.1\r\nx-vidinpaint: t\r\n"
                        b"Content-Length: 1000000\r\n\r\n" + bytes(1000))
        served.process.send_signal(signal.SIGINT)
        time.sleep(1)  # for the signal to reach it: it must still answer then
        assert _request(served.url, "/api/state")[0] == 200
        said = served.stop()  # SIGTERM (its wait gives up after 60 s: the stalled upload held it before)
    finally:
        stalled.close()
    assert said == "review page stopped by SIGTERM\n"


def test_stopping_the_server_after_a_run_says_it_stopped(clip, tmp_path):
    """SIGTERM after a run from the page said "no output was written", beside the output it wrote
    (a run cut short by it, its output not written, is named: test_ui_session.py)."""
    served = _start([str(clip), "--port", "0", *SETTINGS])
    output = tmp_path / "ran.mp4"
    try:
        assert _request(served.url, "/api/run", {"output": str(output)})[0] == 200
        deadline = time.monotonic() + 180
        while (run := json.loads(_request(served.url, "/api/state")[1])["run"])["state"] == "running" \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert run["state"] == "done", run
    finally:
        said = served.stop()
    assert output.is_file()
    assert said == "review page stopped by SIGTERM\n"
