"""Frames mirrored beyond their left and right edges before detection (people across an edge)."""

from dataclasses import replace

import numpy as np
import pytest

from vidinpaint.detect.stage import Detections
from vidinpaint.detect.tiles import TiledDetector


class Recording:
    """Answers fixed boxes in the extended frame's coordinates and keeps what it was shown."""

    backend = "recording"

    def __init__(self, boxes: list[list[float]]) -> None:
        self.boxes, self.seen = np.array(boxes, np.float32), []

    def detect_batch(self, images):
        self.seen += images
        n = len(self.boxes)
        return [Detections(self.boxes, np.linspace(0.9, 0.5, n), np.arange(1, n + 1), np.zeros(n, np.int64))
                for _ in images]

    detect_native_batch = detect_batch  # takes any size, as NanoDet does


def test_boxes_come_back_cut_at_the_edges_and_mirror_images_are_dropped():
    rgb = np.zeros((50, 100, 3), np.uint8)
    rgb[:, :4] = np.arange(4)[None, :, None] * 60  # a gradient at the left edge, to see the mirror image
    inner = Recording([[0, 5, 8, 40],      # wholly in the left mirror band (10 px): an image, dropped
                       [4, 5, 30, 40],     # across the left edge: cut to 0..20
                       [2, 5, 11, 41],     # mostly in the band (1 of 9 px inside): an image, dropped
                       [40, 5, 60, 40],    # inside: shifted by 10
                       [100, 5, 125, 40],  # across the right edge: cut to 90..100
                       [5, 4, 30, 40],     # the same person as the second, the whole mirrored figure
                       [111, 5, 119, 40]])  # wholly in the right band: dropped
    # an input size of 100 px: the frame is not resized, and one stride (10 px) is mirrored
    found = TiledDetector(inner, 100, "off", mirror=0.1, stride=10).detect_batch([rgb])[0]
    wide = inner.seen[0]
    assert wide.shape == (50, 120, 3)
    np.testing.assert_array_equal(wide[:, 10:110], rgb)  # the frame itself, in the middle
    np.testing.assert_array_equal(wide[:, 7:10], rgb[:, 1:4][:, ::-1])  # mirrored about its edge pixel
    # cut back, the two boxes of one person merged, by score (ids dropped, classes kept in step)
    np.testing.assert_allclose(found.boxes, [[0, 5, 20, 40], [30, 5, 50, 40], [90, 5, 100, 40]])
    assert found.ids is None and found.classes.tolist() == [0, 0, 0]


def test_the_whole_frame_is_shrunk_first_then_mirrored_and_boxes_scale_back():
    """A 200x100 frame with an input size of 100: the detector sees the frame at 100x50 and 10 px
    of mirror each side; its boxes come back cut at the small picture's edges, then doubled."""
    inner = Recording([[4, 5, 30, 40], [100, 5, 115, 40]])
    found = TiledDetector(inner, 100, "off", mirror=0.1, stride=10).detect_batch([np.zeros((100, 200, 3), np.uint8)])[0]
    assert inner.seen[0].shape == (50, 120, 3)
    np.testing.assert_allclose(found.boxes, [[0, 10, 40, 80], [180, 10, 200, 80]])


def test_a_detector_of_one_input_size_is_not_mirrored():
    """Its bands would be shrunk away with the frame: such a detector is left as it is."""

    class Fixed:
        backend = "fixed"
        seen: list = []

        def detect_batch(self, images):
            self.seen += images
            return [Detections(np.array([[4.0, 5, 30, 40]]), np.array([0.9]), np.array([1])) for _ in images]

    inner = Fixed()
    tiled = TiledDetector(inner, 416, "off", mirror=0.1)
    found = tiled.detect_batch([np.zeros((50, 100, 3), np.uint8)])[0]
    assert inner.seen[0].shape == (50, 100, 3) and found.ids.tolist() == [1] and "mirrored" not in tiled.backend


def test_edge_tiles_take_in_the_mirror_bands_and_add_no_tiles():
    """Tiles are laid on the frame itself: a 1900x1080 frame is 2x2 tiles with or without the
    mirror (laid on the extended frame, 2284 px wide, they would be 3x2); the tiles at its edges
    run on the bands too, and the whole frame is shrunk to the input size before it is mirrored."""
    rgb = np.zeros((1080, 1900, 3), np.uint8)  # 0.1 of its width, 190 px, is 6 strides: 192 px
    for mirror, widths in ((0.0, [1900] + [982] * 4), (0.1, [416 + 2 * 32] + [982 + 192] * 4)):
        inner = Recording([[0, 0, 1, 1]])
        TiledDetector(inner, 416, "auto", native_side=1024, mirror=mirror).detect_batch([rgb])
        assert [image.shape[1] for image in inner.seen] == widths


def test_a_person_cut_by_the_frame_edge_is_surer_with_the_mirror():
    """The sample's walker at x 375-400 in frame 40, cut at his middle by the left edge."""
    from vidinpaint.backends import whole_nanodet
    from vidinpaint.config import Config
    from vidinpaint.detect.nanodet import NanoDet
    from vidinpaint.detect.track import box_iou
    from vidinpaint.video import VideoReader
    from vidinpaint.weights import available, locate

    if not available("nanodet"):
        pytest.skip("NanoDet model not fetched (make test fetches it)")
    rgb = next(f.rgb for f in VideoReader("samples/vtest.mp4") if f.index == 40)
    crop = np.ascontiguousarray(rgb[:, 387:])
    half = np.array([[0, 177, 13, 253]])  # what is left of him
    net = NanoDet(locate("nanodet"), [0], 0.3, 0.5, precision="fp32")
    best = []
    for mirror in (0.0, Config().detect.mirror):
        found = whole_nanodet(net, replace(Config().detect, mirror=mirror)).detect_batch([crop])[0]
        iou = box_iou(half, found.boxes)[0]
        best.append(float(found.scores[iou >= 0.5].max()) if (iou >= 0.5).any() else 0.0)
    assert best[1] >= 0.5 and best[1] > best[0] + 0.1, best
