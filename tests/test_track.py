import numpy as np

from vidinpaint.detect.track import GapBridge, IouTracker, box_iou


def test_box_iou():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30]])
    assert box_iou(a, b).round(3).tolist() == [[0.333, 0.0]]


def test_ids_follow_moving_boxes_and_new_objects_get_new_ids():
    tracker = IouTracker()
    first = tracker.update(np.array([[0, 0, 10, 20], [50, 0, 60, 20]]))
    second = tracker.update(np.array([[52, 0, 62, 20], [2, 0, 12, 20], [100, 0, 110, 20]]))
    assert second[0] == first[1] and second[1] == first[0]
    assert second[2] not in first


def test_gap_bridge_fills_a_short_gap_along_the_velocity_then_gives_up():
    bridge = GapBridge(max_gap=2)
    bridge.update(np.array([[0, 0, 10, 10]]), np.array([7]))
    bridge.update(np.array([[2, 0, 12, 10]]), np.array([7]))
    boxes, ids = bridge.update(np.zeros((0, 4)), np.zeros(0, np.int64))  # missed once
    assert ids.tolist() == [7] and boxes[0].tolist() == [4, 0, 14, 10]
    boxes, ids = bridge.update(np.zeros((0, 4)), np.zeros(0, np.int64))  # missed twice
    assert boxes[0].tolist() == [6, 0, 16, 10]
    boxes, ids = bridge.update(np.zeros((0, 4)), np.zeros(0, np.int64))  # gone
    assert len(ids) == 0


def test_id_continuity_across_a_detection_gap():
    """A detector that misses frame 2: the tracker keeps the id and the bridge keeps the box."""
    tracker, bridge = IouTracker(max_age=3), GapBridge(max_gap=3)
    seen = []
    for t in range(5):
        boxes = np.zeros((0, 4)) if t == 2 else np.array([[3.0 * t, 0, 3.0 * t + 10, 20]])
        out_boxes, out_ids = bridge.update(boxes, tracker.update(boxes))
        seen.append(out_ids.tolist())
    assert seen == [[1], [1], [1], [1], [1]]
