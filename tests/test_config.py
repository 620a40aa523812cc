from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from vidinpaint.config import Config, _yaml, describe, load_config, parse_override, presets
from vidinpaint.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_default_yaml_lists_exactly_the_builtin_defaults():
    assert yaml.safe_load((ROOT / "configs" / "default.yaml").read_text()) == asdict(Config())


def test_every_preset_loads_and_differs_where_it_says():
    assert {"default", "fast", "quality"} <= set(presets())
    fast = load_config("fast")
    assert fast.encode.preset == "ultrafast" and fast.detect.max_side == 480
    assert load_config("quality").encode.crf == 16


def test_overrides_apply_after_the_preset_and_coerce_types():
    cfg = load_config("fast", ["encode.crf=23", "detect.threshold=30", "device=cpu"])
    assert cfg.encode.crf == 23 and cfg.encode.preset == "ultrafast"
    assert cfg.detect.threshold == 30.0 and isinstance(cfg.detect.threshold, float)
    assert cfg.device == "cpu"


def test_api_sections_override_and_a_config_object_is_copied():
    base = load_config(None, settings={"encode": {"crf": 30}})
    derived = load_config(base, ["encode.crf=10"])
    assert base.encode.crf == 30 and derived.encode.crf == 10


@pytest.mark.parametrize("override, message", [
    ("encode.crff=3", "unknown config key 'encode.crff'"),
    ("encode.crf=fast", "encode.crf: expected int"),
    ("encode.crf=99", "above the maximum"),
    ("detect.margin=-1", "below the minimum"),
    ("inpaint.backend=magic", "not one of auto, gated, telea, ns, patchmatch"),
    ("encode.preset=bogus", "encode.preset: 'bogus' is not one of ultrafast,"),  # was MPEG-4 output, exit 0
    ("encode=3", "encode: expected a mapping"),
    ("nonsense", "section.key=value"),
    ("detect.score=.nan", "detect.score: expected a finite number"),  # NaN passed the 0-1 range check
    ("fill.tolerance=.inf", "fill.tolerance: expected a finite number"),
    ("mask.dilate=100000", "above the maximum"),  # accepted, then 40 GB asked of OpenCV
    ("detect.margin=010", "detect.margin: expected int, got '010'"),  # YAML 1.1 read 8
    ("detect.margin=1:30", "detect.margin: expected int, got '1:30'"),  # YAML 1.1 read 90
])
def test_bad_overrides_name_the_key(override, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        load_config(None, [override])


def test_unknown_preset_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="unknown preset 'nope'"):
        load_config("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("encode: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_a_file_that_is_no_mapping_is_named_and_not_quoted_whole(tmp_path):
    """A text file given as the config was one string, echoed whole into an error line that
    did not name the file."""
    text = tmp_path / "notes.txt"
    text.write_text("hello this is not a config " * 100)
    with pytest.raises(ConfigError) as err:
        load_config(text)
    assert str(err.value).startswith(f"config {text} is not a YAML mapping of settings (it holds str 'hello")
    assert len(str(err.value)) < len(str(text)) + 160
    with pytest.raises(ConfigError, match=r"^encode\.crf: expected int, got '1{56}\.\.\.$"):
        load_config(None, ["encode.crf=" + "1" * 100 + "x"])


@pytest.mark.parametrize("classes", ["", ",", " , "])
def test_no_class_to_remove_is_a_config_error(classes):
    """An empty class list ran the detector with no class to keep: an IndexError traceback."""
    from vidinpaint.backends import build_detector

    with pytest.raises(ConfigError, match="detect.classes: no class named"):
        build_detector(load_config(None, [f"detect.classes={classes}"]), "cpu")


def test_a_key_given_twice_is_an_error_that_says_where(tmp_path):
    """YAML keeps the last of two keys: a second ``detect:`` section dropped the first's settings."""
    twice = tmp_path / "twice.yaml"
    twice.write_text("detect:\n  margin: 12\nfill:\n  window: 8\ndetect:\n  score: 0.4\n")
    with pytest.raises(ConfigError, match=r"twice.yaml is not valid YAML: in the mapping at line 1; 'detect' is "
                                          r"given twice; line 5, column 1$"):
        load_config(twice)
    twice.write_text("detect:\n  margin: 12\n  margin: 14\n")
    with pytest.raises(ConfigError, match="'margin' is given twice; line 3, column 3"):
        load_config(twice)
    # a merge (<<) and a key it brings, overridden: valid YAML, not a key given twice
    assert _yaml("detect:\n  <<: {margin: 12, score: 0.5}\n  score: 0.4\n") == {"detect": {"margin": 12, "score": 0.4}}


def test_a_config_file_without_an_extension_is_read(tmp_path):
    plain = tmp_path / "myconf"
    plain.write_text("detect:\n  margin: 12\n")
    assert load_config(plain).detect.margin == 12  # was "unknown preset"
    assert load_config("fast").detect.tiles == "off"  # a preset's name is still the preset


def test_a_config_in_another_encoding_is_read_or_one_line(tmp_path):
    notepad = tmp_path / "utf16.yaml"
    notepad.write_bytes("detect:\n  margin: 12  # café\n".encode("utf-16"))  # with its byte-order mark
    assert load_config(notepad).detect.margin == 12
    latin = tmp_path / "latin1.yaml"
    latin.write_bytes("# café\ndetect:\n  margin: 12\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"latin1.yaml is not UTF-8 text \(byte 5\): save it as UTF-8"):
        load_config(latin)


def test_parse_override_nests():
    assert parse_override("a.b.c=1") == {"a": {"b": {"c": "1"}}}  # read for its key's type when merged


def leaves(tree: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out = {}
    for key, value in tree.items():
        out.update(leaves(value, f"{prefix}{key}.") if isinstance(value, dict) else {f"{prefix}{key}": value})
    return out


def test_describe_lists_every_option_once_with_the_default_of_default_yaml_and_a_meaning():
    rows = describe()
    keys = [key for key, _, _ in rows]
    assert len(keys) == len(set(keys))
    shipped = leaves(yaml.safe_load((ROOT / "configs" / "default.yaml").read_text()))
    assert {key: default for key, default, _ in rows} == shipped
    assert all(len(doc.split()) >= 2 for _, _, doc in rows), [key for key, _, doc in rows if len(doc.split()) < 2]


def test_yaml_words_like_off_stay_strings(tmp_path):
    assert load_config(None, ["fill.backend=off"]).fill.backend == "off"
    path = tmp_path / "c.yaml"
    path.write_text("fill:\n  backend: off\nstrict: true\n")
    cfg = load_config(path)
    assert cfg.fill.backend == "off" and cfg.strict is True


def test_values_are_read_as_yaml_1_2_not_1_1(tmp_path):
    """PyYAML's YAML 1.1 read ``--tracks 010`` as track 8, a folder ``2024_01`` as 202401, and
    refused ``1e-4`` as a number."""
    cfg = load_config(None, ["select.tracks=010", "weights_dir=2024_01", "detect.min_area=1e-4",
                             "inpaint.weights=0x1F", "select.keep_tracks=1:2"])
    assert (cfg.select.tracks, cfg.weights_dir, cfg.detect.min_area) == ("010", "2024_01", 1e-4)
    texts = load_config(None, ["weights_dir=#x", "inpaint.weights=1e5", "select.tracks_file=2024-01-02.json"])
    assert (texts.weights_dir, texts.inpaint.weights) == ("#x", "1e5")  # YAML: nothing, 100000.0
    assert texts.select.tracks_file == "2024-01-02.json"
    assert load_config(None, ["encode.codec='libx264'"]).encode.codec == "libx264"  # quoted as YAML quotes
    assert (cfg.inpaint.weights, cfg.select.keep_tracks) == ("0x1F", "1:2")
    path = tmp_path / "c.yaml"
    path.write_text("detect:\n  margin: 12\n  score: 5.0e-1\n  min_area: 2E-4\nfill:\n  agree: -0.0\n"
                    "weights_dir: 2024-01-02\n")  # a date to YAML 1.1: "expected str, got datetime.date"
    cfg = load_config(path)
    assert cfg.weights_dir == "2024-01-02"
    assert (cfg.detect.margin, cfg.detect.score, cfg.detect.min_area, cfg.fill.agree) == (12, 0.5, 2e-4, 0.0)


def test_a_config_that_is_no_file_or_no_yaml_says_what_and_where(tmp_path):
    """A folder said "unknown preset ..., and no such file", a pipe blocked the run for good, and
    a YAML error kept only its first line ("while scanning for the next token": no what, no where)."""
    import os

    tab = tmp_path / "tab.yaml"
    tab.write_text("detect:\n\tmargin: 3\n")
    with pytest.raises(ConfigError, match=r"found character '\\t' that cannot start any token; line 2, column 1"):
        load_config(tab)
    folder = tmp_path / "folder"
    folder.mkdir()
    pipe = tmp_path / "pipe.yaml"
    os.mkfifo(pipe)
    for path in (folder, pipe):
        with pytest.raises(ConfigError, match="is not a regular file"):
            load_config(path)
