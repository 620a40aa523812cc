"""Tiled detection: far people the whole-frame pass is too coarse to see, found on tiles."""

import cv2
import numpy as np
import pytest

from vidinpaint.composite import compose, extract_people
from vidinpaint.detect.stage import Detections
from vidinpaint.detect.tiles import TiledDetector, fitted_grid, tile_grid
from vidinpaint.video import VideoReader
from vidinpaint.weights import available, locate

SIZE = 100


class CoarseDetector:
    """Finds black blobs, but only those at least 20 px tall once the image is shrunk to SIZE,
    like a detector with a fixed input size."""

    backend = "coarse"

    def __init__(self, size: int = SIZE) -> None:
        self.size = size

    def detect_batch(self, images):
        out = []
        for rgb in images:
            scale = self.size / max(rgb.shape[:2])
            count, _, stats, _ = cv2.connectedComponentsWithStats((rgb.max(axis=2) == 0).astype(np.uint8))
            boxes = [(x, y, x + w, y + h) for x, y, w, h, _ in stats[1:count] if h * min(scale, 1) >= 20]
            out.append(Detections(np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.9, np.float32)))
        return out


def test_tiles_cover_the_frame_with_the_overlap():
    tiles = tile_grid(768, 576, 416, 64)
    cover = np.zeros((576, 768), int)
    for x0, y0, x1, y1 in tiles:
        assert x1 - x0 <= 416 and y1 - y0 <= 416
        cover[y0:y1, x0:x1] += 1
    assert cover.min() >= 1 and len(tiles) == 4
    assert tiles[1][0] <= 768 - 416 and tiles[0][2] - tiles[1][0] >= 64  # neighbours share >= overlap
    assert tile_grid(80, 60, 416, 64) == [(0, 0, 80, 60)]


@pytest.mark.parametrize("width,height,count", [(768, 576, 1), (1920, 1080, 4), (3840, 2160, 12), (1100, 500, 2)])
def test_fitted_tiles_are_as_few_as_cover_the_frame_with_the_overlap(width, height, count):
    tiles = fitted_grid(width, height, 1024, 64)
    cover = np.zeros((height, width), int)
    for x0, y0, x1, y1 in tiles:
        assert 0 <= x0 and x1 <= width and 0 <= y0 and y1 <= height
        assert (x1 - x0, y1 - y0) == (tiles[0][2] - tiles[0][0], tiles[0][3] - tiles[0][1])
        assert max(x1 - x0, y1 - y0) <= 1024
        cover[y0:y1, x0:x1] += 1
    assert cover.min() >= 1 and len(tiles) == count
    for a, b in zip(tiles, tiles[1:]):  # neighbours in a row share at least the overlap
        if a[1] == b[1]:
            assert a[2] - b[0] >= 64


class NativeDetector(CoarseDetector):
    """Also takes images at their own resolution: sees every blob at least 20 px tall there."""

    def detect_native_batch(self, images):
        return CoarseDetector(10 ** 6).detect_batch(images)


def test_a_native_detector_sees_the_frame_at_its_own_resolution_in_few_tiles():
    rgb = np.full((300, 400, 3), 200, np.uint8)
    rgb[140:170, 95:105] = 0  # 30 px tall: missed at the whole frame's scale
    rgb[10:290, 300:380] = 0
    tiled = TiledDetector(NativeDetector(), SIZE, "auto", overlap=40, native_side=1024)
    assert tiled.tiles(400, 300) == [(0, 0, 400, 300)] and "native-resolution tiles" in tiled.backend
    assert sorted(tiled.detect_batch([rgb])[0].boxes.tolist()) == [[95, 140, 105, 170], [300, 10, 380, 290]]
    assert len(TiledDetector(NativeDetector(), SIZE, "auto", overlap=40).tiles(400, 300)) > 1  # native_side 0
    with pytest.raises(ValueError, match="tile_side"):
        TiledDetector(NativeDetector(), SIZE, "auto", overlap=64, native_side=64)


class NoEmptyBatch(CoarseDetector):
    """Refuses an empty batch, as ultralytics does ("No images found")."""

    def detect_batch(self, images):
        assert images, "empty batch"
        return super().detect_batch(images)


def test_a_frame_with_no_tiles_makes_no_empty_tile_call():
    rgb = np.full((120, 100, 3), 200, np.uint8)
    assert TiledDetector(NoEmptyBatch(), 416, "auto").detect_batch([rgb])[0].boxes.shape == (0, 4)


def test_small_person_found_on_a_tile_once_at_frame_coordinates():
    rgb = np.full((300, 400, 3), 200, np.uint8)
    rgb[140:170, 95:105] = 0  # 30 px tall: 10 px at the whole frame's scale, missed there; in two tiles' overlap
    rgb[10:290, 300:380] = 0  # 280 px tall: cut by tiles, whole only in the frame pass
    off = TiledDetector(CoarseDetector(), SIZE, "off").detect_batch([rgb])[0]
    tiled = TiledDetector(CoarseDetector(), SIZE, "auto", overlap=40).detect_batch([rgb])[0]
    assert off.boxes.tolist() == [[300, 10, 380, 290]]
    assert sorted(tiled.boxes.tolist()) == [[95, 140, 105, 170], [300, 10, 380, 290]]


def test_auto_leaves_frames_near_the_input_size_whole():
    assert TiledDetector(CoarseDetector(), 416, "auto").tiles(600, 400) == []
    assert len(TiledDetector(CoarseDetector(), 416, "on").tiles(600, 400)) == 2
    with pytest.raises(ValueError):
        TiledDetector(CoarseDetector(), 416, "sometimes")


@pytest.mark.weights
def test_nanodet_on_tiles_finds_far_people_the_whole_frame_misses():
    if not available("nanodet"):
        pytest.skip("NanoDet weights not fetched (make test fetches them)")
    from vidinpaint.detect.nanodet import SIZE as INPUT
    from vidinpaint.detect.nanodet import NanoDet

    plate, people = extract_people([f.rgb for f in VideoReader("samples/vtest.mp4")])
    rng = np.random.default_rng(3)
    nanodet = NanoDet(locate("nanodet"), [0], 0.3, 0.5)
    found = {"off": 0, "auto": 0, "native": 0}
    total = 0
    for _ in range(3):
        image, truths = compose(np.ascontiguousarray(plate[:, ::-1]), people, [24, 28, 32, 36], rng)
        total += sum(t.any() for t in truths)
        for mode in found:
            side = 1024 if mode == "native" else 0
            boxes = TiledDetector(nanodet, INPUT, mode.replace("native", "auto"), native_side=side
                                  ).detect_batch([image])[0].boxes
            for truth in truths:
                ys, xs = np.nonzero(truth)
                if len(ys):
                    cx, cy = xs.mean(), ys.mean()
                    found[mode] += any(x0 <= cx <= x1 and y0 <= cy <= y1 for x0, y0, x1, y1 in boxes)
    print(found, total)
    assert found["auto"] >= 0.8 * total and found["auto"] > found["off"]
    assert found["native"] >= 0.8 * total and found["native"] > found["off"]


@pytest.mark.weights
def test_detect_tiles_setting_reaches_the_nanodet_stage():
    if not available("nanodet"):
        pytest.skip("NanoDet weights not fetched (make test fetches them)")
    from vidinpaint.backends import build_detector
    from vidinpaint.config import load_config

    native = build_detector(load_config(overrides=["detect.backend=nanodet"]), "cpu")
    tiled = build_detector(load_config(overrides=["detect.backend=nanodet", "detect.tile_side=0"]), "cpu")
    whole = build_detector(load_config(overrides=["detect.backend=nanodet", "detect.tiles=off"]), "cpu")
    assert "native-resolution tiles up to 1024px" in native.backend
    assert "416px tiles" in tiled.backend and "tiles" not in whole.backend
