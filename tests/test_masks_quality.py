"""Offline masks against exact ground truth: real vtest pedestrians composited on its clean plate."""

import numpy as np
import pytest

from vidinpaint.composite import compose, extract_people
from vidinpaint.config import Config
from vidinpaint.masks import dilate
from vidinpaint.segment import BoxSegmenter, GrabCutSegmenter
from vidinpaint.video import VideoReader
from vidinpaint.weights import available, locate


def test_composites_have_exact_visible_masks():
    rng = np.random.default_rng(0)
    frames = [f.rgb for f in VideoReader("samples/vtest.mp4")][:40]
    plate, people = extract_people(frames)
    assert len(people) > 20 and all(p.alpha.shape == p.rgb.shape[:2] for p in people)
    image, masks = compose(plate, people, [60, 60, 120], rng)
    assert len(masks) == 3 and not (masks[0] & masks[2]).any()  # later people hide earlier ones
    changed = np.abs(image.astype(int) - plate.astype(int)).max(axis=2) > 0
    assert not changed[~np.logical_or.reduce(masks)].any()  # nothing outside the masks changed


@pytest.mark.weights
def test_nanodet_plus_grabcut_beats_boxes_and_reaches_recall_085():
    if not available("nanodet"):
        pytest.skip("NanoDet weights not fetched (make test fetches them)")
    from vidinpaint.detect.nanodet import NanoDet

    cfg = Config()
    frames = [f.rgb for f in VideoReader("samples/vtest.mp4")]
    plate, people = extract_people(frames)
    rng = np.random.default_rng(1)
    detector = NanoDet(locate("nanodet"), [0], cfg.detect.score, cfg.detect.iou)
    refiners = {"box": BoxSegmenter(cfg.detect.margin), "grabcut": GrabCutSegmenter(cfg.detect.margin)}
    iou = {k: [] for k in refiners}
    recall, small = [], []
    for _ in range(6):
        heights = [int(v) for v in rng.integers(40, 81, 3)] + [int(v) for v in rng.integers(80, 201, 2)]
        image, truths = compose(np.ascontiguousarray(plate[:, ::-1]), people, heights, rng)
        boxes = detector.detect(image)[0]
        for name, refiner in refiners.items():
            masks = refiner.segment(image, boxes)
            union = dilate(np.logical_or.reduce(masks) if masks else np.zeros(image.shape[:2], bool), cfg.mask.dilate)
            for truth, height in zip(truths, heights):
                if not truth.any():
                    continue
                iou[name].append(max([(m & truth).sum() / (m | truth).sum() for m in masks], default=0.0))
                if name == "grabcut":
                    recall.append((union & truth).sum() / truth.sum())
                    if height <= 80:
                        small.append(recall[-1])
    print(f"mean IoU box {np.mean(iou['box']):.3f} grabcut {np.mean(iou['grabcut']):.3f}, "
          f"recall {np.mean(recall):.3f} (40-80 px: {np.mean(small):.3f})")
    assert np.mean(iou["grabcut"]) > np.mean(iou["box"]) + 0.2
    assert np.mean(recall) >= 0.85 and np.mean(small) >= 0.85
