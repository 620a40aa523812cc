"""The review page's state without a browser: the selection becomes the `select` config section."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from vidinpaint.config import load_config
from vidinpaint.errors import InputError
from vidinpaint.synthetic import walkers, write_clip
from vidinpaint.ui.session import Review

TRACKS = "tracks.json"  # where these tests have the selection's kept tracks written
MOTION = ["detect.backend=motion", "detect.window=12", "detect.stride=2", "segment.backend=box"]


@pytest.fixture
def review(tmp_path):
    clip = tmp_path / "walk.mp4"
    write_clip(clip, (rgb for rgb, _, _ in walkers(160, 120, 24, people=2, seed=1)), fps=24)
    work = tmp_path / "work"
    work.mkdir()
    session = Review(load_config(None, MOTION), work)
    session.open(clip)
    yield session
    session.stop()  # no listing left running into the next test, or into the interpreter's exit


def _listed(review: Review) -> None:
    deadline = time.monotonic() + 120
    while review.listing.state == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert review.listing.state == "done", review.listing.error


def test_prompts_become_points_and_boxes(review):
    review.add_prompt(3, [10, 20])
    review.add_prompt(5, [50, 60, 30, 40])  # dragged up and left: stored as x0 < x1, y0 < y1
    # every detected track stays removed, as the page shows them (with objects given by hand alone,
    # clean removes only those)
    assert review.select(review.workdir / TRACKS) == {"tracks": "all", "points": "10,20@3", "boxes": "30,40,50,60@5"}
    assert "--tracks all --point 10,20@3 --box 30,40,50,60@5" in review.command()
    review.clear_prompts()
    assert review.select(review.workdir / TRACKS) == {}


@pytest.mark.parametrize("frame, coords, message", [
    (30, [10, 10], "outside the clip"),
    (0, [160, 10], "outside the 160x120 frame"),
    (0, [1, 2, 3], "a point x,y or a box"),
    (0, [10, 10, 10, 40], "no width or no height"),  # accepted, then refused by every preview and run
])
def test_bad_prompts_are_errors(review, frame, coords, message):
    with pytest.raises(InputError, match=message):
        review.add_prompt(frame, coords)


def test_an_image_is_not_for_the_page(review, tmp_path):
    still = tmp_path / "still.png"
    still.write_bytes(b"")
    with pytest.raises(InputError, match="takes a video"):
        review.open(still)


def test_kept_tracks_become_a_tracks_file_that_clean_reads(review):
    from vidinpaint.config import as_dict
    from vidinpaint.selection import read_tracks_file, tracking_key

    _listed(review)
    ids = [t.id for t in review.tracks]
    assert ids, "the motion detector found no track in the walkers clip"
    assert review.select(review.workdir / TRACKS) == {}  # the default: every track goes
    assert review.toggle(ids[0]) is False
    select = review.select(review.workdir / TRACKS)
    document = json.loads(open(select["tracks_file"]).read())
    assert {e["id"]: e["remove"] for e in document["tracks"]} == {i: i != ids[0] for i in ids}
    listed = read_tracks_file(select["tracks_file"])
    assert listed[:3] == (frozenset(ids[1:]), frozenset(ids[:1]), frozenset())
    assert listed.made["frames"] == 24 and listed.made["tracking"] == tracking_key(as_dict(review.config))
    with review.selected() as config:  # a preview's or a run's own file, removed after
        assert read_tracks_file(config.select.tracks_file)[:3] == listed[:3]
    assert not Path(config.select.tracks_file).exists()
    assert review.toggle(ids[0]) is True
    with pytest.raises(InputError, match="no track"):
        review.toggle(max(ids) + 100)


def test_an_object_left_alone_as_still_is_offered_kept_and_can_be_chosen(review):
    from vidinpaint.selection import read_tracks_file
    from vidinpaint.tracks import Track

    _listed(review)
    ids = [t.id for t in review.tracks]
    cone = Track(max(ids) + 1, "person", 0, 1, {0: (5, 5, 15, 30), 1: (5, 5, 15, 30)}, still=True)
    review.tracks.append(cone)  # as the listing gives one: its boxes drawn, and left alone in the preview
    for index, box in cone.boxes.items():
        review.track_boxes.setdefault(index, {})[cone.id] = box
    review.left_boxes = {index: {cone.id: box} for index, box in cone.boxes.items()}
    shown = {t["id"]: t for t in review.state()["tracks"]}
    assert shown[cone.id]["still"] and not shown[cone.id]["remove"] and shown[ids[0]]["remove"]
    assert review.select(review.workdir / TRACKS) == {}  # as listed: nothing to say
    boxes, left = review.preview_boxes()
    assert cone.id not in boxes[0] and left[0] == {cone.id: cone.boxes[0]}
    assert review.toggle(cone.id) is True
    assert [b["remove"] for b in review.boxes_at(0) if b["id"] == cone.id] == [True]
    path = review.select(review.workdir / TRACKS)["tracks_file"]
    assert read_tracks_file(path)[:3] == (frozenset([*ids, cone.id]), frozenset(), frozenset())
    assert "--tracks-file" in review.command()
    boxes, left = review.preview_boxes()
    assert boxes[0][cone.id] == cone.boxes[0] and left[0] == {}


def test_opening_another_clip_stops_the_old_listing(review, tmp_path):
    long = tmp_path / "long.mp4"
    write_clip(long, (rgb for rgb, _, _ in walkers(320, 240, 240, people=3, seed=2)), fps=24)
    review.open(long)
    old = review.listing
    review.open(review.video.path.with_name("walk.mp4"))
    deadline = time.monotonic() + 120
    while old.state == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert old.state == "stopped" and old.done < old.total
    _listed(review)
    assert review.video.path.name == "walk.mp4" and review.tracks


def test_the_command_line_carries_the_servers_settings_and_choice(tmp_path, review):
    """The page's command gives the same ids only with the detector the server used; and objects
    given by hand add to a choice the server's settings make (they replaced it with every track)."""
    again = Review(load_config(None, [*MOTION, "select.tracks=1"]), review.workdir,
                   ("--set", "detect.backend=motion", "--set", "select.tracks=1"))
    again.open(review.video.path)
    again.add_prompt(3, [10, 20])
    assert again.command() == (f"vidinpaint clean {review.video.path} --set detect.backend=motion --set "
                               "select.tracks=1 --point 10,20@3")
    with again.selected() as config:
        assert config.select.tracks == "1"
    _listed(again)


def test_requests_another_site_could_send_are_refused_and_bad_ones_are_400(review):
    """A POST without the page's header (a form or script on another site: it was accepted and
    overwrote a file), a Host that is not this machine (DNS rebinding), and malformed bodies
    (a 500 and a traceback before)."""
    from vidinpaint.ui.server import build_app

    app = build_app(review)
    page = {"x-vidinpaint": "page"}
    assert _call(app, "POST", "/api/run", b'{"output": "x.mp4"}')[0] == 403
    status, answer = _call(app, "GET", "/api/state", host="evil.example:8765")
    assert status == 403 and json.loads(answer)["error"].endswith("--allow-host evil.example")
    assert _call(app, "GET", "/api/state")[0] == 200
    # no name at all: the refusal named `--allow-host ` with nothing after it
    status, answer = _call(app, "GET", "/api/state", host="")
    assert status == 403 and json.loads(answer)["error"] == ("refused a request that named no host "
                                                             "(its Host header is empty or missing)")
    # an <img> on another site's page (the browser says so): it could start a preview, the whole pipeline
    assert _call(app, "GET", "/api/preview/0", headers={"sec-fetch-site": "cross-site"})[0] == 403
    for path, body in (("/api/run", b"{bad"), ("/api/toggle", b"[1, 2]"), ("/api/toggle", b'{"id": "x"}'),
                       ("/api/prompt", b'{"frame": 0, "coords": "12"}'), ("/api/prompt", b'{"frame": 1e400}'),
                       ("/api/run", b'{"output": ["a"]}')):
        status, answer = _call(app, "POST", path, body, headers=page)
        assert status == 400 and json.loads(answer)["error"].startswith(f"bad request to {path}: "), body
    assert _call(app, "GET", "/api/preview/0", query=b"context=abc")[0] == 400


def test_the_state_holds_only_what_the_page_reads(review):
    """/api/state sent each job's internal stop flag, and the run's stages a second time (the page
    reads them from "backends" alone)."""
    from importlib.resources import files

    from vidinpaint.ui.server import build_app

    _listed(review)
    status, answer = _call(build_app(review), "GET", "/api/state")
    state = json.loads(answer)
    assert status == 200 and state["tracks"]
    assert set(state["listing"]) == set(state["run"]) == {"state", "done", "total", "error"}
    assert set(state["result"]) == {"output", "frames", "seconds", "shots"}
    page = files("vidinpaint.ui").joinpath("page.html").read_text(encoding="utf-8")
    parts = [state, state["tracks"][0], *(v for v in state.values() if isinstance(v, dict))]
    assert [key for part in parts for key in part if f".{key}" not in page] == []


def _call(app, method: str, path: str, body: bytes = b"", host: str = "127.0.0.1:8765",
          headers: dict[str, str] | None = None, query: bytes = b"", abandoned: bool = False) -> tuple[int, bytes]:
    """One HTTP request straight to the ASGI app: (status, body); ``abandoned``: the sender goes
    away after ``body``, with more of it announced."""
    import asyncio

    pairs = [(b"host", host.encode())] + [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": query,
             "headers": pairs, "scheme": "http", "server": ("127.0.0.1", 8765), "client": ("127.0.0.1", 1),
             "http_version": "1.1", "root_path": "", "asgi": {"version": "3.0"}}
    messages = [{"type": "http.request", "body": body, "more_body": abandoned}]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


def test_an_upload_that_fails_keeps_the_open_clip(review):
    """Uploading a bad file under the open clip's name replaced the clip before it failed; and a
    clip opened after an upload removes the upload's copy (they piled up in the work folder)."""
    from vidinpaint.ui.server import build_app

    app = build_app(review)
    page = {"x-vidinpaint": "page"}
    clip = review.video.path.read_bytes()
    assert _call(app, "POST", "/api/upload", clip, headers=page, query=b"name=walk.mp4")[0] == 200
    first = review.video.path
    status, answer = _call(app, "POST", "/api/upload", b"not a video", headers=page, query=b"name=walk.mp4")
    assert status == 400 and "not a readable video" in json.loads(answer)["error"]
    assert review.video.path == first and first.read_bytes() == clip
    assert sorted(p.name for p in review.workdir.glob("upload-*")) == [first.parent.name]
    review.open(review.workdir.parent / "walk.mp4")
    assert not first.parent.exists()
    _listed(review)


def test_the_bound_socket_answers_before_the_server_starts():
    """The URL is printed between binding and uvicorn's start: a browser (or a test) that opened
    it then was refused, as the socket was not listening yet."""
    import socket

    from vidinpaint.ui.server import bind

    with bind("127.0.0.1", 0) as sock, socket.create_connection(sock.getsockname()[:2]):
        pass


def test_a_run_the_server_stops_removes_its_temporary_and_is_named(review, tmp_path):
    """A run in flight when the server stopped died with it (a daemon thread), leaving its
    temporary file beside the output; now it unwinds, and stop() names the output not written."""
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "cut.mp4"
    review.run(str(target), overwrite=False)
    assert review.stop() == target
    assert review.run_task.state == "stopped" and list(folder.iterdir()) == []


def test_every_loopback_address_is_local_to_the_server_and_to_the_cli_line():
    """The server refused other host names on all of 127.0.0.0/8, but the CLI's line said "anyone
    who can reach this address" for --host 127.0.0.2; both now ask the same function."""
    pytest.importorskip("starlette")
    from vidinpaint.ui.server import _answered_hosts, is_local

    assert is_local("127.0.0.2") and is_local("::1") and not is_local("0.0.0.0") and not is_local("192.168.1.5")
    assert _answered_hosts("127.0.0.2", ()) is not None and _answered_hosts("10.0.0.1", ()) is None


def test_each_change_the_user_makes_counts_so_the_page_can_drop_older_answers(review):
    _listed(review)
    versions = [review.state()["version"]]
    review.toggle(review.tracks[0].id)
    review.add_prompt(3, [10, 20])
    review.clear_prompts()
    versions += [review.state()["version"]]
    assert versions[1] == versions[0] + 3
    assert review.state()["session"] != Review(review.config, review.workdir).state()["session"]


def test_a_run_keeps_the_selection_it_was_started_with(review, monkeypatch, tmp_path):
    """A toggle and a preview made just after Run rewrote the one tracks file the run's thread had
    yet to read: the run removed the other selection. Each preview and run now has its own."""
    import threading

    from vidinpaint.selection import read_tracks_file
    from vidinpaint.ui import session

    _listed(review)
    ids = [t.id for t in review.tracks]
    assert len(ids) >= 2, ids
    started, go, read = threading.Event(), threading.Event(), []

    def clean_path(input, output, config, **options):  # the run, held until the page has moved on
        started.set()
        go.wait(60)
        read.append(read_tracks_file(config.select.tracks_file).keep)
        raise session.Stopped

    monkeypatch.setattr(session, "clean_path", clean_path)
    review.toggle(ids[0])
    review.run(str(tmp_path / "out.mp4"), overwrite=False)
    assert started.wait(60)
    review.toggle(ids[1])  # the page goes on: another choice, previewed
    with review.selected():
        pass
    go.set()
    review.stop()
    assert read == [frozenset({ids[0]})]
    assert not list(review.workdir.glob("tracks-*"))  # each one removed after use


def test_an_uploaded_clips_result_is_not_written_where_the_server_removes_it(review, tmp_path, monkeypatch):
    """An uploaded clip's copy is in the server's work folder, which the next clip opened (or the
    server's end) removes: the default output went there too, and the result with it."""
    from vidinpaint.ui.server import build_app

    monkeypatch.chdir(tmp_path)
    clip = review.video.path.read_bytes()
    status, answer = _call(build_app(review), "POST", "/api/upload", clip, headers={"x-vidinpaint": "page"},
                           query=b"name=sent.mp4")
    assert status == 200 and json.loads(answer)["output"] == str(tmp_path / "sent.clean.mp4")
    assert review.state()["output"] == str(tmp_path / "sent.clean.mp4")
    _listed(review)


def test_bad_requests_a_script_can_send_are_400_not_500(review, tmp_path):
    """Each of these gave a 500 and a traceback in the server's log, or did something else."""
    from vidinpaint.ui.server import build_app

    _listed(review)
    app = build_app(review)
    page = {"x-vidinpaint": "page"}
    long = "a" * 300 + ".mp4"
    for method, path, body, query, message in [
        ("GET", "/api/preview/0", b"", "context=\u00b2".encode(), "context must be 0-50"),  # "²".isdigit()
        ("POST", "/api/toggle", b'{"id": 1.5}', b"", "id must be a whole number"),  # toggled track 2
        ("POST", "/api/run", b'{"output": "x.mp4", "overwrite": "true"}', b"", "overwrite must be true or false"),
        ("POST", "/api/upload", b"x", b"name=a%00b.mp4", "not a file name here"),
        ("POST", "/api/upload", b"x", f"name={long}".encode(), "not a file name here"),
        ("POST", "/api/open", json.dumps({"path": "a" * 5000 + ".mp4"}).encode(), b"", "too long for the file system"),
        ("POST", "/api/open", b'{"path": ""}', b"", "no path given"),
        ("POST", "/api/run", json.dumps({"output": str(tmp_path / long)}).encode(), b"", "too long"),
        ("POST", "/api/run", b'{"output": "a\\u0000b.mp4"}', b"", "NUL"),
        ("GET", "/api/frame/24.jpg", b"", b"", "frame 24 is outside the clip (0-23)"),  # the last frame, before
    ]:
        status, answer = _call(app, method, path, body, headers=page, query=query)
        assert status == 400 and message in json.loads(answer)["error"], (path, body, query, answer)
    assert review.run_task.state == "idle"  # the run's output was refused before it started
    empty = Review(review.config, review.workdir)
    with pytest.raises(InputError, match="no clip open"):
        empty.toggle(1)


def test_an_upload_the_sender_abandons_is_removed_quietly(review):
    """A closed tab mid-upload raised ClientDisconnect out of the app: a traceback in the log."""
    from vidinpaint.ui.server import build_app

    status, _ = _call(build_app(review), "POST", "/api/upload", bytes(1000), headers={"x-vidinpaint": "p"},
                      query=b"name=gone.mp4", abandoned=True)
    assert status == 400 and not list(review.workdir.glob("upload-*"))


def test_a_bad_selection_in_the_servers_settings_is_the_answer_to_run(review, tmp_path):
    """It showed as a run that failed, at the next poll."""
    from vidinpaint.errors import ConfigError

    bad = Review(load_config(None, [*MOTION, "select.tracks=3,x"]), review.workdir)
    bad.open(review.video.path)
    with pytest.raises(ConfigError, match="select.tracks: '3,x'"):
        bad.run(str(tmp_path / "out.mp4"), overwrite=False)
    assert bad.run_task.state == "idle" and not list(review.workdir.glob("tracks-*"))
    deadline = time.monotonic() + 120
    while bad.listing.state == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert bad.listing.error.endswith("select.tracks: '3,x' is not a list of track ids such as 3,7")


def test_stop_waits_for_every_clips_track_listing(review, monkeypatch):
    """A listing still in a detector's native code as the interpreter exits aborts the process
    ("FATAL: exception not rethrown"). stop() waited for none, then only for the last clip's:
    the listing of a clip replaced by another ran on."""
    import threading

    import vidinpaint.tracks

    def slow(path, config, progress=None):  # a listing between two of its progress calls
        time.sleep(1.0)
        progress()
        return [], {}, {}

    monkeypatch.setattr(vidinpaint.tracks, "list_tracks", slow)
    review.open(review.video.path)
    review.open(review.video.path)
    review.stop()
    assert not [t for t in threading.enumerate() if t.name == "list-tracks"]
