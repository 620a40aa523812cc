"""The weights registry: checksums, partial files, offline errors, corrupt caches, strict mode."""

from __future__ import annotations

import hashlib
import re

import pytest

from vidinpaint import weights
from vidinpaint.backends import build_detector, weights_path
from vidinpaint.config import load_config
from vidinpaint.weights import WeightFile, WeightSpec, WeightsError


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A registry entry served from a local file:// URL."""
    source = tmp_path / "src" / "tiny.bin"
    source.parent.mkdir()
    source.write_bytes(b"weights" * 1000)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()

    def register(name="tiny", sha=digest, size=7000, url=source.as_uri()):
        spec = WeightSpec(name, "detect", "MIT", "a tiny test model", (WeightFile("tiny.bin", sha, size, url=url),))
        monkeypatch.setitem(weights.REGISTRY, name, spec)
        return spec

    return register, tmp_path / "cache"


def test_fetch_verifies_and_locate_finds_it(tiny):
    register, cache = tiny
    register()
    path = weights.fetch("tiny", cache)
    assert path == cache / "tiny.bin" and weights.locate("tiny", cache) == path
    assert not [p for p in cache.iterdir() if p.name.startswith(".fetch-")]


def test_checksum_mismatch_leaves_nothing_in_the_cache(tiny):
    register, cache = tiny
    register(sha="0" * 64)
    with pytest.raises(WeightsError, match="does not match"):
        weights.fetch("tiny", cache)
    assert not (cache / "tiny.bin").exists()


def test_partial_download_is_rejected(tiny):
    register, cache = tiny
    register(size=9000)
    with pytest.raises(WeightsError, match="partial or wrong file"):
        weights.fetch("tiny", cache)
    assert not (cache / "tiny.bin").exists()


def test_offline_fetch_and_missing_file_say_what_to_do(tiny, tmp_path):
    register, cache = tiny
    register(url=(tmp_path / "nowhere.bin").as_uri())
    with pytest.raises(WeightsError, match="cannot download"):
        weights.fetch("tiny", cache)
    with pytest.raises(WeightsError) as err:
        weights.locate("tiny", cache)
    message = str(err.value)
    assert "vidinpaint weights fetch tiny" in message and str(cache) in message and "tiny.bin" in message


def test_a_corrupt_cached_file_is_never_used(tiny):
    register, cache = tiny
    register()
    path = weights.fetch("tiny", cache)
    path.write_bytes(b"x" * 7000)  # same size, different bytes: the remembered check no longer applies
    with pytest.raises(WeightsError, match="corrupt"):
        weights.locate("tiny", cache)
    assert not weights.available("tiny", cache)


def test_sha256_prefix_entries_verify_the_prefix(tiny):
    register, cache = tiny
    spec = register()
    register(sha=spec.main.sha256[:6])
    assert weights.fetch("tiny", cache).exists()


def test_env_and_argument_choose_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDINPAINT_HOME", str(tmp_path / "home"))
    assert weights.weights_dir() == tmp_path / "home" / "weights"
    assert weights.weights_dir(tmp_path / "x") == tmp_path / "x"


def test_unknown_name():
    with pytest.raises(WeightsError, match="unknown weights 'nope'"):
        weights.spec("nope")


def test_strict_turns_a_fallback_into_an_error(tmp_path):
    cfg = load_config(None, ["strict=true", f"weights_dir={tmp_path}"])
    with pytest.raises(WeightsError, match="vidinpaint weights fetch yolo11n"):
        build_detector(cfg, "cpu")


def test_an_explicit_backend_without_weights_is_an_error(tmp_path):
    cfg = load_config(None, ["detect.backend=nanodet", f"weights_dir={tmp_path}"])
    with pytest.raises(WeightsError, match="vidinpaint weights fetch nanodet"):
        build_detector(cfg, "cpu")


def test_auto_falls_back_and_says_why(tmp_path):
    cfg = load_config(None, [f"weights_dir={tmp_path}"])
    stage = build_detector(cfg, "cpu")
    assert stage.backend.startswith("motion")
    assert "fallback from YOLO" in stage.backend and "fallback from NanoDet" in stage.backend
    assert "vidinpaint weights fetch nanodet" in stage.backend


def test_a_web_page_instead_of_the_file_is_refused(tiny, tmp_path):
    register, cache = tiny
    page = tmp_path / "confirm.html"
    page.write_text("<html>Google Drive can't scan this file for viruses</html>")
    register(sha="", size=None, url=page.as_uri())
    with pytest.raises(WeightsError, match="returned a web page, not the file"):
        weights.fetch("tiny", cache)
    assert not (cache / "tiny.bin").exists()


def test_raft_entries_match_torchvisions_weights():
    from torchvision.models.optical_flow import Raft_Large_Weights, Raft_Small_Weights

    from vidinpaint.weights import spec

    for name, enum in (("raft_small", Raft_Small_Weights), ("raft_large", Raft_Large_Weights)):
        entry = spec(name)
        weights = enum[entry.meta["variant"]]
        assert entry.files[0].url == weights.url
        assert f"{weights.meta['num_params'] / 1e6:.1f}M params" in entry.description


def test_a_cache_that_is_not_a_folder_or_holds_no_file_is_one_error(tiny, tmp_path):
    """A file where the folder should be, a folder where a weight file should be, and an empty
    file under an entry with no published checksum were tracebacks, or (the empty file) verified."""
    register, cache = tiny
    register()
    taken = tmp_path / "taken"
    taken.write_text("")
    with pytest.raises(WeightsError, match=re.escape(f"cannot keep weights in {taken}: File exists")):
        weights.fetch("tiny", taken)
    (cache / "tiny.bin").mkdir(parents=True)
    for use in (weights.locate, weights.fetch):  # fetch downloaded, then failed to replace the folder
        with pytest.raises(WeightsError, match="not a file"):
            use("tiny", cache)
    with pytest.raises(WeightsError, match="is a folder"):  # a path given for weights: "does not exist"
        weights_path(str(cache / "tiny.bin"), None)
    register(sha="", size=None)  # as DeepFillv2's, published without a checksum
    (cache / "tiny.bin").rmdir()
    (cache / "tiny.bin").write_bytes(b"")
    with pytest.raises(WeightsError, match="an empty file"):
        weights.locate("tiny", cache)
    assert not list(cache.glob(".*verified"))
