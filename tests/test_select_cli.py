"""`vidinpaint tracks` and the selection options of `clean`, `masks` and `batch`, through the CLI.

The clip has two walkers in separate lanes: A (red, ~58 px tall) in the upper lane walking right,
B (blue, ~36 px tall) in the lower lane walking left, so every option picks a known one, and a
still sign S that no detector finds (the motion detector sees only what moves), given by hand.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import decode_all, psnr, run_cli, sample_start
from vidinpaint.errors import VidinpaintWarning
from vidinpaint.synthetic import background, person_mask, write_clip

W, H, N = 192, 144, 24
FAST = ["--set", "detect.backend=motion", "--set", "detect.window=12", "--set", "detect.stride=3",
        "--set", "shots.backend=off", "--set", "segment.backend=box"]


def walker_a(i: int) -> np.ndarray:
    return person_mask(W, H, 30 + 4 * i, 70, 56)


def walker_b(i: int) -> np.ndarray:
    return person_mask(W, H, 170 - 4 * i, 136, 34)


def sign(_: int = 0) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[20:50, 152:176] = True
    return mask


def box_of(mask: np.ndarray) -> str:
    ys, xs = np.nonzero(mask)
    return f"{xs.min()},{ys.min()},{xs.max() + 1},{ys.max() + 1}"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[Path, dict]:
    """The clip, and the tracks.json that `vidinpaint tracks` wrote for it (ids of A and B)."""
    folder = tmp_path_factory.mktemp("select")
    bg = background(W, H, 3)
    frames = []
    for i in range(N):
        rgb = bg.copy()
        rgb[walker_a(i)] = (200, 40, 40)
        rgb[walker_b(i)] = (30, 60, 200)
        rgb[sign()] = (40, 170, 60)
        rgb[30:34, 156:172] = 250
        frames.append(rgb)
    path = folder / "two.mp4"
    write_clip(path, frames, fps=24)
    result = run_cli("tracks", str(path), "-o", str(folder / "two.tracks.json"), "--sheet",
                     str(folder / "two.sheet.png"), *FAST)
    assert result.returncode == 0, result.stderr
    return path, {"result": result, "json": json.loads((folder / "two.tracks.json").read_text())}


def _ids(document: dict) -> tuple[int, int]:
    """Ids of A and B: the track whose boxes sit in the upper lane is A."""
    by_lane = sorted(document["tracks"], key=lambda t: t["boxes"][str(t["first"])][1])
    return by_lane[0]["id"], by_lane[1]["id"]


def test_tracks_lists_both_walkers_with_boxes_and_a_sheet(clip):
    path, found = clip
    document = found["json"]
    assert (document["width"], document["height"], document["frames"]) == (W, H, N)
    assert len(document["tracks"]) == 2
    a, b = _ids(document)
    for track, truth in zip(sorted(document["tracks"], key=lambda t: t["id"] != a), (walker_a, walker_b)):
        assert track["first"] == 0 and track["last"] == N - 1 and track["remove"] is True
        assert track["class"] == "object" and len(track["boxes"]) == N
        x0, y0, x1, y1 = track["boxes"]["10"]
        ys, xs = np.nonzero(truth(10))
        assert abs(x0 - xs.min()) <= 3 and abs(y1 - 1 - ys.max()) <= 3 and abs(x1 - 1 - xs.max()) <= 3
    sheet = cv2.imread(str(path.with_name("two.sheet.png")))
    assert sheet.shape[:2] == (96, 2 * 96)
    lines = found["result"].stdout.splitlines()
    assert any(line.split()[0] == str(a) and f"frames 0-{N - 1}" in line for line in lines)


def test_clean_tracks_removes_only_that_walker(clip, tmp_path):
    path, found = clip
    a, b = _ids(found["json"])
    out = tmp_path / "only_a.mp4"
    result = run_cli("clean", str(path), "-o", str(out), "--tracks", str(a), *FAST)
    assert result.returncode == 0, result.stderr
    assert f"only tracks {a}" in result.stderr  # the select stage says what it keeps
    before, after = decode_all(path)[0], decode_all(out)[0]
    boxes = found["json"]["tracks"][[t["id"] for t in found["json"]["tracks"]].index(a)]["boxes"]
    grow = 8 + 6 + 4  # detect.margin + mask.dilate + a little
    for i in range(N):
        near_a = np.zeros((H, W), bool)
        for j in (i - 2, i - 1, i):  # mask.hold keeps a pixel masked for two more frames
            if str(j) in boxes:
                x0, y0, x1, y1 = boxes[str(j)]
                near_a[max(y0 - grow, 0):y1 + grow, max(x0 - grow, 0):x1 + grow] = True
        assert psnr(before[i][~near_a], after[i][~near_a]) >= 36, i  # B and the rest are untouched
        inside = walker_a(i)
        assert np.abs(before[i][inside].astype(int) - after[i][inside]).mean() > 40, i  # A is gone


def _masked(path: Path, tmp_path: Path, *options: str) -> dict[str, float]:
    """Share of the pixels of A, B and the sign S that `masks` with ``options`` marks for removal."""
    out = tmp_path / "m.mp4"
    result = run_cli("masks", str(path), "-o", str(out), "--overwrite", *options, *FAST)
    assert result.returncode == 0, result.stderr
    masks = np.stack([f[..., 0] > 127 for f in decode_all(out)[0]])
    return {name: masks[np.stack([truth(i) for i in range(N)])].mean()
            for name, truth in (("A", walker_a), ("B", walker_b), ("S", sign))}


def _tracks_file(document: dict, tmp_path: Path, keep: int) -> str:
    edited = dict(document, tracks=[dict(t, remove=t["id"] != keep) for t in document["tracks"]])
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(edited))
    return str(path)


@pytest.mark.parametrize("option, removed", [
    ("keep-tracks A", "B"), ("tracks-file keeping A", "B"), ("region lower lane", "B"),
    ("min-height 45", "A"), ("none", "AB"), ("box on A", "A"), ("point on B", "B"),
    ("point on the still sign, late", "S"), ("point on S and all tracks", "ABS"),
    ("point on S, keep-tracks A", "BS"),
])
def test_masks_follow_each_selection_option(clip, tmp_path, option, removed):
    path, found = clip
    a, _ = _ids(found["json"])
    on_s = ["--point", f"160,40@{N - 2}"]
    options = {"keep-tracks A": ["--keep-tracks", str(a)],
               "tracks-file keeping A": ["--tracks-file", _tracks_file(found["json"], tmp_path, keep=a)],
               "region lower lane": ["--region", f"0,100,{W},{H}"],
               "min-height 45": ["--min-height", "45"], "none": [],
               "box on A": ["--box", f"{box_of(walker_a(12))}@12"],
               "point on B": ["--point", "{},{}@12".format(*np.argwhere(walker_b(12)).mean(0).astype(int)[::-1])],
               "point on the still sign, late": on_s, "point on S and all tracks": [*on_s, "--tracks", "all"],
               "point on S, keep-tracks A": [*on_s, "--keep-tracks", str(a)]}[option]
    shares = _masked(path, tmp_path, *options)
    for name, share in shares.items():
        assert share > 0.95 if name in removed else share < 0.02, (name, shares)


def test_batch_manifest_columns_select_per_clip(clip, tmp_path):
    path, found = clip
    a, b = _ids(found["json"])
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text(json.dumps({"input": str(path), "output": "a.mp4", "tracks": str(a)}) + "\n"
                        + json.dumps({"input": str(path), "output": "bad.mp4", "region": "1,2,3"}) + "\n")
    result = run_cli("batch", str(manifest), "-o", str(tmp_path / "out"), "-j", "1", *FAST)
    assert result.returncode == 1  # the bad row fails alone
    assert "select.region" in result.stdout + result.stderr
    after = decode_all(tmp_path / "out" / "a.mp4")[0]
    before = decode_all(path)[0]
    b_pixels = walker_b(5)
    assert np.abs(before[5][walker_a(5)].astype(int) - after[5][walker_a(5)]).mean() > 40
    assert np.abs(before[5][b_pixels].astype(int) - after[5][b_pixels]).mean() < 15  # B stays (removed: > 40)
    assert not (tmp_path / "out" / "bad.mp4").exists()


@pytest.mark.parametrize("options, message", [
    (["--region", "10,20,30"], "select.region: '10,20,30' must be 4 numbers"),
    (["--region", "50,20,10,40"], "0 <= x0 < x1"),
    (["--region", f"{W},0,{W + 10},10"], f"outside the {W}x{H} frame"),
    (["--tracks", "3,x"], "select.tracks: '3,x' is not a list of track ids"),
    (["--tracks-file", "no-such.json"], "select.tracks_file: no such file no-such.json"),
    (["--min-height", "-3"], "select.min_height: -3 is below the minimum"),
    (["--point", "500,5@3"], f"select.points 500,5@3 lies outside the {W}x{H} frame"),
    (["--point", "5,5@99"], f"select.points 5,5@99: the video declares {N} frames (0 to {N - 1})"),  # before decoding
    (["--point", f"5,5@{N}"], f"select.points 5,5@{N}: the clip has {N} frames"),  # as the clip decodes
    (["--box", "1,2,3@4"], "select.boxes: '1,2,3' must be 4 numbers"),
    (["--point", "1,2"], "select.points: '1,2' must look like 320,200@15"),
    (["--tracks", "1,2", "--keep-tracks", "2"], "select.tracks and select.keep_tracks (or the tracks file) both name track 2"),
    (["--tracks", "3", "--keep-tracks", "4"], "select.keep_tracks 4 does nothing with select.tracks, which keeps every"),
    (["--tracks-file", "quoted.json"], 'track 1 has "remove": "false"; write true or false, without quotes'),
    (["--tracks-file", "quoted-still.json"], 'track 2 has "still": "true"; write true or false, without quotes'),
])
def test_bad_selection_is_one_error_line(clip, tmp_path, options, message):
    path, _ = clip
    out = tmp_path / "never.mp4"
    (tmp_path / "quoted.json").write_text('{"tracks": [{"id": 1, "remove": "false"}]}')  # read as true before
    (tmp_path / "quoted-still.json").write_text('{"tracks": [{"id": 2, "remove": true, "still": "true"}]}')
    result = run_cli("clean", str(path), "-o", str(out), *options, *FAST, cwd=tmp_path)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_a_bad_selection_fails_before_torch_loads(clip, tmp_path):
    """A mistyped option was an error only once the device had started, and with it torch, which
    takes seconds to load: `clean`, `masks` and `tracks` now check the selection first."""
    import subprocess
    import sys

    path, _ = clip
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from vidinpaint.config import load_config\n"
        "from vidinpaint.errors import ConfigError\n"
        "from vidinpaint.pipeline import clean_path, export_masks\n"
        "from vidinpaint.tracks import list_tracks\n"
        "config = load_config(None, ['select.tracks=3,x'])\n"
        "src, out = Path(sys.argv[1]), Path(sys.argv[2])\n"
        "for run in (lambda: clean_path(src, out / 'a.mp4', config),\n"
        "            lambda: export_masks(src, out / 'm.mp4', config), lambda: list_tracks(src, config)):\n"
        "    try:\n"
        "        run()\n"
        "    except ConfigError as error:\n"
        "        print(error)\n"
        "print('torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path)], capture_output=True, text=True,
                            timeout=120)
    lines = result.stdout.splitlines()
    assert lines == ["select.tracks: '3,x' is not a list of track ids such as 3,7"] * 3 + ["False"], result.stderr


def test_a_still_entry_of_the_tracks_file_is_removed_only_when_chosen(tmp_path):
    from vidinpaint.config import SelectConfig
    from vidinpaint.errors import ConfigError
    from vidinpaint.selection import Selection

    entries = [{"id": 1}, {"id": 2, "remove": False}, {"id": 3, "still": True, "remove": False},
               {"id": 4, "still": True, "remove": True}]
    path = tmp_path / "tracks.json"
    path.write_text(json.dumps({"tracks": entries}))
    chosen = Selection.from_config(SelectConfig(tracks_file=str(path)))
    # 3 is neither removed nor a kept track (the run never sees it: no "missing" warning); 1 and 4
    # are named: an entry a person wrote, {"id": 1}, removes an object left alone as still too
    assert (chosen.listed, chosen.keep, chosen.named) == ({1, 4}, {2}, {1, 4})
    assert Selection.from_config(SelectConfig(tracks="3,5")).named == {3, 5}
    assert Selection.from_config(SelectConfig(tracks="all")).named == frozenset()
    # asked for by id while the file leaves it alone: one of the two is wrong, as for a kept track
    with pytest.raises(ConfigError, match="both name track 3"):
        Selection.from_config(SelectConfig(tracks="3", tracks_file=str(path)))


@pytest.mark.parametrize("entries, message", [
    ([{"id": True}], "no \"tracks\" list of entries with an integer \"id\""),  # was track 1
    ([{"id": 1, "remove": False}, {"id": 1}], "lists track 1 twice"),  # the second won
    ([{"id": 1000001}], "track 1000001 is an object given by hand"),  # silently removed nothing
])
def test_a_tracks_file_that_cannot_mean_what_it_says_is_an_error(tmp_path, entries, message):
    from vidinpaint.config import SelectConfig
    from vidinpaint.errors import ConfigError
    from vidinpaint.selection import Selection

    path = tmp_path / "tracks.json"
    path.write_text(json.dumps({"tracks": entries}))
    with pytest.raises(ConfigError, match=message):
        Selection.from_config(SelectConfig(tracks_file=str(path)))
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"tracks": [{"id": 1}]}).encode())  # Notepad's BOM: "not JSON"
    assert Selection.from_config(SelectConfig(tracks_file=str(path))).listed == {1}


def test_a_tracks_file_of_another_clip_or_other_settings_is_said(tmp_path):
    """Another clip's file kept this clip's walkers (its ids marked still there) with no word."""
    from fractions import Fraction

    from vidinpaint.config import Config, SelectConfig, as_dict
    from vidinpaint.errors import ConfigError
    from vidinpaint.frames import Frame
    from vidinpaint.selection import Selection, SelectStage, tracking_key

    key = tracking_key(as_dict(Config()))
    frames = [Frame(i, i, Fraction(1, 25), np.zeros((8, 12, 3), np.uint8)) for i in range(3)]
    for frame in frames:
        frame.boxes, frame.ids = np.array([[0, 0, 4, 4]], np.int32), np.array([1])
    path = tmp_path / "tracks.json"

    def run(**made):
        path.write_text(json.dumps({**made, "tracks": [{"id": 1}]}))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            list(SelectStage(Selection.from_config(SelectConfig(tracks_file=str(path))), None, key)(frames))
        return [str(w.message) for w in caught]

    assert run(width=12, height=8, frames=3, tracking=key) == []
    with pytest.raises(ConfigError, match="lists the tracks of a 16x8 video .*, this one is 12x8"):
        run(width=16, height=8, frames=3, tracking=key)
    assert ["a video of 30 frames" in m for m in run(width=12, height=8, frames=30, tracking=key)] == [True]
    assert run(width=12, height=8, frames=4, tracking=key) == []  # the review page counts packets: a few more
    other = as_dict(Config())
    other["detect"] = {**other["detect"], "margin": 16, "batch": 1,  # boxes grown after tracking: the same ids
                       "still": 0, "pose": 0, "pose_height": 0.7, "pose_every": 1}  # judged after tracking too
    assert run(width=12, height=8, frames=3, tracking=tracking_key(other)) == []
    assert ["other shots/detect settings" in m for m in run(width=12, height=8, frames=3, tracking="0" * 12)] == [True]
    assert run() == []  # a file a person wrote says nothing of its clip


def test_keeping_an_object_left_alone_as_still_is_no_missing_track():
    """The detect stage drops what it leaves alone before selection: the ids are there all the same.
    A few frames of the clip (a review page's preview, no ``tracking``) need not show every track:
    a preview warned of tracks the page listed, outside its frames."""
    from fractions import Fraction

    from vidinpaint.detect.still import StillObjects
    from vidinpaint.frames import Frame
    from vidinpaint.selection import Selection, SelectStage

    still = StillObjects()
    still.left[5] = [0, 9]
    frames = [Frame(i, i, Fraction(1, 25), np.zeros((8, 8, 3), np.uint8)) for i in range(3)]
    for frame in frames:
        frame.boxes, frame.ids = np.array([[0, 0, 4, 4]], np.int32), np.array([1])
    for left, tracking, expected in ((still, "run", []), (None, "run", ["no track 5"]), (None, None, [])):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            list(SelectStage(Selection(keep=frozenset({5})), left, tracking)(frames))
        assert [m for m in expected if any(m in str(w.message) for w in caught)] == expected
        assert len(caught) == len(expected)


def test_a_selection_that_removes_nothing_is_warned_about():
    """``--min-height 1000`` wrote the input re-encoded without a word."""
    from fractions import Fraction

    from vidinpaint.frames import Frame
    from vidinpaint.selection import Selection, SelectStage

    frames = [Frame(i, i, Fraction(1, 25), np.zeros((8, 8, 3), np.uint8)) for i in range(3)]
    for frame in frames:
        frame.boxes, frame.ids = np.array([[0, 0, 4, 4]], np.int32), np.array([1])
    with pytest.warns(VidinpaintWarning, match=r"removes none of the 1 objects found, so the video is only re-encoded"):
        list(SelectStage(Selection(min_height=1000), None, "settings")(frames))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(SelectStage(Selection(min_height=2), None, "settings")(frames))
        list(SelectStage(Selection(min_height=1000), None, None)(frames))  # an excerpt: not judged


def test_a_sheet_that_is_no_image_is_an_error_before_any_work(clip, tmp_path):
    """It was an OpenCV traceback, after the JSON had been written."""
    path, _ = clip
    result = run_cli("tracks", str(path), "-o", str(tmp_path / "t.json"), "--sheet", str(tmp_path / "s.jpgx"), *FAST)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.splitlines()[-1].startswith(f"error: --sheet {tmp_path / 's.jpgx'}: must be an image file")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_keeping_a_track_the_video_does_not_have_is_warned_about(clip, tmp_path):
    """--keep-tracks 99 keeps nobody, and everyone is removed: the user is told (as --tracks 99 was)."""
    path, _ = clip
    result = run_cli("clean", str(path), "-o", str(tmp_path / "out.mp4"), "--keep-tracks", "99", *FAST)
    assert result.returncode == 0, result.stderr
    assert ("warning: select.keep_tracks / the tracks file: no track 99 in this video (list them with "
            "`vidinpaint tracks`)") in " ".join(result.stderr.split())


@pytest.mark.weights
def test_tracks_on_the_sample_lists_the_pedestrians(tmp_path):
    short = sample_start(tmp_path / "vtest12.mp4", 12)
    result = run_cli("tracks", str(short), "-o", str(tmp_path / "t.json"), "--set", "detect.backend=nanodet",
                     "--set", "device=cpu")
    assert result.returncode == 0, result.stderr
    tracks = json.loads((tmp_path / "t.json").read_text())["tracks"]
    assert len([t for t in tracks if t["class"] == "person" and t["last"] - t["first"] >= 5]) >= 5


def test_editing_the_tracks_file_redoes_a_batch_clip(tmp_path):
    from vidinpaint.batch import Job, settings_hash
    from vidinpaint.config import Config

    chosen = tmp_path / "t.json"
    chosen.write_text('{"tracks": [{"id": 1}]}')
    job = Job(tmp_path / "a.mp4", tmp_path / "o.mp4", None, (f"select.tracks_file={chosen}",))
    before = settings_hash(Config(), job)
    chosen.write_text('{"tracks": [{"id": 1, "remove": false}]}')
    assert settings_hash(Config(), job) != before
