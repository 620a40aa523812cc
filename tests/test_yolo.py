"""YOLO plumbing with ultralytics: a randomly initialised YOLO11n built from its yaml, and
results parsing on constructed ultralytics Results (classes, ids)."""

import numpy as np
import pytest
import torch

pytest.importorskip("ultralytics")

from ultralytics.engine.results import Results  # noqa: E402

from vidinpaint.detect.stage import DetectStage  # noqa: E402
from vidinpaint.detect.yolo import YoloDetector, results_to_detections  # noqa: E402


def fake_result(rows):
    img = np.zeros((100, 200, 3), np.uint8)
    return Results(img, path="x.jpg", names={0: "person", 2: "car"}, boxes=torch.tensor(rows, dtype=torch.float32))


def test_results_keep_only_the_requested_classes_with_their_ids():
    result = fake_result([[10, 10, 50, 90, 7, 0.9, 0], [60, 10, 120, 60, 8, 0.8, 2], [130, 5, 150, 95, 9, 0.7, 0]])
    found = results_to_detections(result, [0])
    assert found.boxes.tolist() == [[10, 10, 50, 90], [130, 5, 150, 95]]
    assert found.ids.tolist() == [7, 9] and np.allclose(found.scores, [0.9, 0.7])
    assert results_to_detections(result, [2]).ids.tolist() == [8]


def test_results_without_tracking_have_no_ids():
    found = results_to_detections(fake_result([[10, 10, 50, 90, 0.9, 0]]), [0])
    assert found.ids is None and len(found.boxes) == 1


@pytest.mark.parametrize("track", [False, True])
def test_random_yolo_runs_offline_in_batches(track):
    detector = YoloDetector("yolo11n.yaml", [0], score=0.25, imgsz=320, track=track)
    frames = [np.random.default_rng(i).integers(0, 255, (240, 320, 3), dtype=np.uint8) for i in range(3)]
    found = detector.detect_batch(frames)
    assert len(found) == 3 and all(d.boxes.shape[1] == 4 for d in found)
    assert "YOLO yolo11n.yaml" in DetectStage(detector, batch=2).backend
