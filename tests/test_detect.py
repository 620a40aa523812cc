from fractions import Fraction

import numpy as np
import pytest

from vidinpaint.config import DetectConfig
from vidinpaint.detect import MotionDetector, boxes_to_mask, expand_boxes
from vidinpaint.detect.motion import clean_plate
from vidinpaint.errors import InputError
from vidinpaint.frames import Frame
from vidinpaint.synthetic import walkers


def test_expand_boxes_adds_margin_and_clamps_at_borders():
    boxes = expand_boxes(np.array([[2.5, 3, 50, 60], [90, 70, 100, 80]]), margin=5, width=100, height=80)
    assert boxes.tolist() == [[0, 0, 55, 65], [85, 65, 100, 80]]
    assert boxes.dtype == np.int32
    with pytest.raises(ValueError):
        expand_boxes(boxes, -1, 100, 80)


def test_boxes_to_mask_covers_exactly_the_boxes():
    mask = boxes_to_mask(np.array([[1, 2, 4, 5]]), width=8, height=6)
    assert mask.sum() == 3 * 3 and mask[2:5, 1:4].all()
    assert not boxes_to_mask(np.zeros((0, 4)), 8, 6).any()


def test_clean_plate_is_the_temporal_median():
    frames = [np.full((2, 2, 3), v, np.uint8) for v in (10, 200, 12, 11, 250)]
    assert (clean_plate(frames) == 12).all()


def frames_of(scene):
    return [Frame(index=i, pts=i, time_base=Fraction(1, 25), rgb=rgb) for i, (rgb, _, _) in enumerate(scene)]


def test_motion_detector_boxes_cover_the_walkers():
    scene = list(walkers(160, 120, 40, people=2, seed=4))
    det = MotionDetector(DetectConfig(window=20, stride=2, margin=4))
    out = list(det(frames_of(scene)))
    assert [f.index for f in out] == list(range(40))  # order kept, nothing dropped
    recall = [boxes_to_mask(f.boxes, 160, 120)[m].mean() for f, (_, m, _) in zip(out, scene)]
    assert np.mean(recall) > 0.9, recall
    area = np.mean([boxes_to_mask(f.boxes, 160, 120).mean() for f in out])
    assert area < 3 * np.mean([m.mean() for _, m, _ in scene])  # boxes, not the whole frame


def test_static_scene_gives_no_boxes():
    still = list(walkers(96, 64, 10, people=0))
    out = list(MotionDetector(DetectConfig(window=5))(frames_of(still)))
    assert all(len(f.boxes) == 0 for f in out)


def test_a_single_frame_is_refused_with_advice():
    one = frames_of(list(walkers(96, 64, 1)))
    with pytest.raises(InputError, match="--mask"):
        list(MotionDetector(DetectConfig())(one))


def test_nms_keeps_what_torchvision_batched_nms_keeps():
    import torch
    import torchvision

    from vidinpaint.detect.boxes import nms

    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(0, 40))
        corner = rng.uniform(0, 300, (n, 2))
        boxes = np.concatenate([corner, corner + rng.uniform(2, 120, (n, 2))], axis=1).astype(np.float32)
        scores, classes = rng.uniform(0.3, 1, n).astype(np.float32), rng.integers(0, 3, n)
        expected = torchvision.ops.batched_nms(torch.from_numpy(boxes), torch.from_numpy(scores),
                                               torch.from_numpy(classes), 0.5).numpy()
        np.testing.assert_array_equal(nms(boxes, scores, classes, 0.5), expected)


def test_detector_path_does_not_import_torchvision():
    import subprocess
    import sys

    code = ("import sys; import vidinpaint.detect.nanodet, vidinpaint.detect.tiles, vidinpaint.backends, "
            "vidinpaint.pipeline; print('torchvision' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "False"


def test_a_misspelt_class_is_answered_with_the_name_meant():
    """Not with all 80 COCO names, as a name that resembles none still is."""
    from vidinpaint.detect.coco import class_ids

    assert class_ids("person, bicycle") == [0, 1]
    with pytest.raises(ValueError, match=r"^unknown class 'peson' \(did you mean 'person'\?\), 'Car' \(did you mean "
                                         r"'car'\?\)$"):
        class_ids("peson,Car")
    with pytest.raises(ValueError, match=r"^unknown class 'people' \(did you mean 'person'\?\)$"):
        class_ids("people")  # not 'apple'
    with pytest.raises(ValueError, match="unknown class 'zzz'; COCO classes are: person, bicycle, "):
        class_ids("person,zzz")
