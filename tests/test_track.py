import numpy as np

from vidinpaint.detect.track import GapBridge, IouTracker, box_iou, median_rows


def test_median_rows_is_numpys_median():
    rng = np.random.default_rng(0)
    for count in range(1, 8):
        for dtype in (np.float32, np.float64):
            rows = [rng.normal(size=2).astype(dtype) for _ in range(count)]
            expected = np.median(np.stack(rows), axis=0)
            got = median_rows(rows)
            assert got.dtype == expected.dtype and np.array_equal(got, expected)
        numbers = rng.normal(size=count).tolist()
        assert median_rows(numbers) == np.median(numbers)


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


def test_a_bridged_box_keeps_its_size_and_its_pace_after_a_jump():
    """A walker's box (5 px a frame to the left) jumped to a taller one nearby, someone else's,
    at a keyframe of a probe clip (43 -> 63 px), then was missed: it was bridged as a box growing
    23 px a frame, up to the frame's top (frames 22-27)."""
    bridge = GapBridge(max_gap=5)
    for box in ([228, 115, 243, 158], [223, 115, 238, 158], [218, 115, 233, 158], [203, 92, 226, 155]):
        bridge.update(np.array([box]), np.array([1]))
    for missed in range(1, 6):
        boxes, _ = bridge.update(np.zeros((0, 4)), np.zeros(0, np.int64))
        assert boxes[0].tolist() == (np.array([203, 92, 226, 155]) + missed * np.array([-5, 0, -5, 0])).tolist()


def test_id_continuity_across_a_detection_gap():
    """A detector that misses frame 2: the tracker keeps the id and the bridge keeps the box."""
    tracker, bridge = IouTracker(max_age=3), GapBridge(max_gap=3)
    seen = []
    for t in range(5):
        boxes = np.zeros((0, 4)) if t == 2 else np.array([[3.0 * t, 0, 3.0 * t + 10, 20]])
        out_boxes, out_ids = bridge.update(boxes, tracker.update(boxes))
        seen.append(out_ids.tolist())
    assert seen == [[1], [1], [1], [1], [1]]


def test_a_weak_box_continues_a_track_but_never_starts_one():
    """ByteTrack's second association: a box below the confident score is kept only where it
    continues a track no confident box continues."""
    tracker = IouTracker()
    walker = np.array([100.0, 50, 140, 150])
    tracker.update(walker[None])  # a confident detection starts the track
    step = np.array([4.0, 0, 4, 0])
    boxes = np.stack([walker + step, [300, 50, 340, 150]])  # the walker, weakly; a weak stranger
    keep = tracker.continued(boxes, np.array([False, False]))
    assert keep.tolist() == [True, False]
    # a confident box already continues the track: the weak one over it is not kept as well
    boxes = np.stack([walker + step, walker + step + 2])
    assert tracker.continued(boxes, np.array([True, False])).tolist() == [True, False]
    # and with no track, nothing weak is kept
    assert IouTracker().continued(boxes, np.array([False, False])).tolist() == [False, False]


def test_detect_stage_keeps_a_doubted_person_it_found_before():
    """The detector doubts a person on some frames (NanoDet on a cluttered street, bench_removal.py):
    with ``confident`` the track goes on through them; the weak stranger is never kept."""
    from fractions import Fraction

    from vidinpaint.detect.stage import DetectStage, Detections
    from vidinpaint.frames import Frame

    walker, stranger = np.array([[100.0, 50, 140, 150]]), np.array([[300.0, 50, 340, 150]])
    scores = [0.6, 0.2, 0.2, 0.25, 0.6, 0.2]

    class Doubting:
        backend = "doubting"

        def detect_batch(self, images):
            score = scores.pop(0)
            return [Detections(np.concatenate([walker, stranger]), np.array([score, 0.2]))]

    frames = [Frame(i, i, Fraction(1, 25), np.zeros((200, 400, 3), np.uint8)) for i in range(6)]
    stage = DetectStage(Doubting(), max_gap=0, confident=0.3)
    out = list(stage(frames))
    assert [len(f.boxes) for f in out] == [1] * 6
    assert all(f.boxes[0][0] < 200 for f in out) and len({int(f.ids[0]) for f in out}) == 1


def test_a_weak_box_continues_the_hidden_one_of_two_crossing_people():
    """Two people cross: the confident box of the one in front overlaps where both should be, but
    it is matched to one track only, so the other's weak box still continues his track."""
    tracker = IouTracker()
    front, behind = np.array([100.0, 50, 140, 150]), np.array([112.0, 50, 152, 150])
    tracker.update(np.stack([front, behind]))
    boxes = np.stack([front, behind + [2, 0, 2, 0]])
    assert box_iou(front[None], behind[None])[0, 0] >= 0.3  # the confident box overlaps both tracks
    assert tracker.continued(boxes, np.array([True, False])).tolist() == [True, True]
