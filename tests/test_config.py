from dataclasses import asdict
from pathlib import Path

import pytest
import yaml

from vidinpaint.config import Config, describe, load_config, parse_override, presets
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
    ("encode=3", "encode: expected a mapping"),
    ("nonsense", "section.key=value"),
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


def test_parse_override_nests():
    assert parse_override("a.b.c=1") == {"a": {"b": {"c": 1}}}


def test_describe_documents_every_option():
    rows = describe()
    assert ("encode.crf", 18, rows[[r[0] for r in rows].index("encode.crf")][2]) in rows
    assert all(doc for _, _, doc in rows)


def test_yaml_words_like_off_stay_strings(tmp_path):
    assert load_config(None, ["fill.backend=off"]).fill.backend == "off"
    path = tmp_path / "c.yaml"
    path.write_text("fill:\n  backend: off\nstrict: true\n")
    cfg = load_config(path)
    assert cfg.fill.backend == "off" and cfg.strict is True
