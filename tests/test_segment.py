import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction

import cv2
import numpy as np
import pytest
import torch

from vidinpaint.detect.boxes import boxes_to_mask
from vidinpaint.frames import Frame
from vidinpaint.segment import BoxSegmenter, GrabCutSegmenter, SegmentStage, move_mask
from vidinpaint.segment.classical import reach_feet
from vidinpaint.synthetic import background, person_mask
from vidinpaint.video import VideoReader


def iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def scene():
    rgb = background(200, 160, seed=3)
    truth = person_mask(200, 160, 100, 150, 110)
    rgb[truth] = (200, 30, 40)
    ys, xs = np.nonzero(truth)
    box = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]])
    return rgb, truth, box


def test_grabcut_is_tighter_than_the_box():
    rgb, truth, box = scene()
    mask = GrabCutSegmenter(margin=6).segment(rgb, box)[0]
    boxed = BoxSegmenter(margin=6).segment(rgb, box)[0]
    assert iou(mask, truth) > 0.8 > iou(boxed, truth)
    assert (mask & truth).sum() / truth.sum() > 0.95


def test_a_box_at_the_frame_edge_learns_from_a_wider_ring(monkeypatch):
    """The frame cuts an edge box's background ring, so what is left of it is widened (0.3 of
    the box instead of 0.15); a box inside keeps the narrow ring."""
    crops = []
    segmenter = GrabCutSegmenter(margin=0)
    monkeypatch.setattr(segmenter, "_cut", lambda crop, rect, models=None: crops.append((crop.shape[:2], rect))
                        or (np.zeros(crop.shape[:2], bool), None))
    rgb = np.zeros((200, 300, 3), np.uint8)
    segmenter.segment(rgb, np.array([[100, 50, 140, 150], [260, 50, 300, 150]], np.float32))
    (inner, inner_rect), (edge, edge_rect) = crops
    assert inner_rect[:2] == (int(40 * 0.15) + 4, int(100 * 0.15) + 4)  # left and top ring
    assert edge_rect[:2] == (int(40 * 0.3) + 4, int(100 * 0.3) + 4)


def test_a_tracks_next_cut_resumes_from_its_colour_models(monkeypatch):
    """With ``warm``, a track cut before skips GrabCut's k-means fit: its next cut starts from the
    models its last one ended with (``GC_EVAL``) and gives the same silhouette; other tracks, calls
    without ids, and a segmenter without ``warm`` fit afresh; a collapsed cut leaves no models."""
    rgb, truth, box = scene()
    modes = []
    grabcut = cv2.grabCut
    monkeypatch.setattr(cv2, "grabCut", lambda *a: modes.append(a[-1]) or grabcut(*a))
    warm = GrabCutSegmenter(margin=6, warm=True)
    first = warm.segment(rgb, box, [7])[0]
    moved = np.roll(rgb, 5, axis=1)  # the person 5 px to the right
    again = warm.segment(moved, box + [5, 0, 5, 0], [7])[0]
    warm.segment(rgb, box, [8])
    warm.segment(rgb, box)
    GrabCutSegmenter(margin=6).segment(rgb, box, [7])
    fresh, resumed = cv2.GC_INIT_WITH_RECT, cv2.GC_EVAL
    assert modes == [fresh, resumed, fresh, fresh, fresh]
    assert iou(first, truth) > 0.8 and iou(again, np.roll(truth, 5, axis=1)) > 0.8
    flat = np.full_like(rgb, 90)  # nothing to cut: the cut collapses and the box is the mask
    assert warm.segment(flat, box, [7])[0][box[0, 1]:box[0, 3], box[0, 0]:box[0, 2]].all()
    assert 7 not in warm._models


def test_a_resumed_cut_that_collapses_is_cut_again_with_new_models(monkeypatch):
    """Models carried from an earlier cut can mislead GrabCut into keeping almost nothing (the
    person turned, the light changed): the box is cut again with newly fitted models before the
    collapse rule gives the whole box. Ids that do not match the boxes are refused."""
    rgb, truth, box = scene()
    warm = GrabCutSegmenter(margin=6, warm=True)
    warm.segment(rgb, box, [7])
    cut = warm._cut

    def misled(crop, rect=None, seed=None, models=None):
        fg, learnt = cut(crop, rect, seed, models)
        return (np.zeros_like(fg), learnt) if models is not None else (fg, learnt)

    monkeypatch.setattr(warm, "_cut", misled)
    assert iou(warm.segment(rgb, box, [7])[0], truth) > 0.8
    assert 7 in warm._models
    with pytest.raises(ValueError, match="2 ids for 1 boxes"):
        warm.segment(rgb, box, [7, 8])


def test_a_collapsed_cut_keeps_the_box():
    """On the sample's frame 141, GrabCut keeps 1 % of the box of a walker entering at the right
    edge (the fill then copied him into the frames after); a cut that keeps no more than
    ``min_share`` of the detector's box falls back to the box + margin."""
    rgb = next(itertools.islice(VideoReader("samples/vtest.mp4"), 141, None)).rgb
    box = np.array([[747, 132, 768, 183]], np.float32)
    collapsed = GrabCutSegmenter(min_share=0.0, feet=False).segment(rgb, box)[0]
    assert collapsed[132:183, 747:768].mean() < 0.05
    kept = GrabCutSegmenter().segment(rgb, box)[0]
    assert kept[124:191, 739:768].all()


def test_a_cut_depends_on_its_crop_alone():
    """GrabCut starts its colour models from OpenCV's per-thread random generator; it is seeded
    for each cut, so what the thread drew before changes nothing. Without the seed this box of
    the sample's first frame gave 376, 334 and 349 mask pixels under three generator states."""
    rgb = next(iter(VideoReader("samples/vtest.mp4"))).rgb
    box = np.array([[439, 178, 453, 202]], np.float32)
    segmenter = GrabCutSegmenter(min_share=0.0, feet=False)
    segmenter._threads = ThreadPoolExecutor(1)  # the thread that cuts, whose generator is set here
    masks = []
    for state in (1, 2, 3):
        segmenter._threads.submit(cv2.setRNGSeed, state).result()
        masks.append(segmenter.segment(rgb, box)[0])
    assert all((m == masks[0]).all() for m in masks[1:])


def test_the_boxes_of_a_frame_are_cut_at_once_and_as_one_thread_cuts_them(monkeypatch):
    """The boxes of a frame are cut in parallel threads (GrabCut holds one core), with the same
    masks as one thread cutting them in turn."""
    rgb = next(iter(VideoReader("samples/vtest.mp4"))).rgb
    boxes = np.array([[439, 178, 453, 202], [100, 120, 140, 220], [300, 250, 360, 400], [600, 80, 640, 180],
                      [200, 380, 260, 560], [500, 300, 560, 470]], np.float32)
    one, many = GrabCutSegmenter(), GrabCutSegmenter()
    one._threads = ThreadPoolExecutor(1)
    many._threads = ThreadPoolExecutor(4)
    threads = set()
    cut = many._cut
    monkeypatch.setattr(many, "_cut",
                        lambda *a, **k: threads.add(threading.get_ident()) or time.sleep(0.05) or cut(*a, **k))
    assert all((a == b).all() for a, b in zip(one.segment(rgb, boxes), many.segment(rgb, boxes), strict=True))
    assert len(threads) > 1


def test_a_cut_that_stops_above_the_box_bottom_is_extended_to_the_feet():
    """The detector's box reaches the feet: a mask ending more than a tenth of the box's height
    above its bottom (legs lost) goes down to it across the box; one ending within a tenth of
    it is left alone."""
    box = np.array([20, 10, 40, 110])
    torso = np.zeros((120, 60), bool)
    torso[10:70, 24:36] = True
    extended = torso.copy()
    reach_feet(extended, box)
    assert extended[70:110, 20:40].all() and extended.sum() == 12 * 60 + 20 * 40
    whole = np.zeros((120, 60), bool)
    whole[10:102, 24:36] = True
    kept = whole.copy()
    reach_feet(kept, box)
    assert (kept == whole).all()


def test_box_segmenter_clamps_at_borders():
    masks = BoxSegmenter(margin=10).segment(np.zeros((50, 60, 3), np.uint8), np.array([[0, 0, 5, 5], [55, 45, 60, 50]]))
    assert masks[0][:15, :15].all() and masks[0].sum() == 15 * 15
    assert masks[1][35:, 45:].all() and masks[1].sum() == 15 * 15


def test_move_mask_follows_the_box():
    mask = boxes_to_mask(np.array([[10, 10, 20, 30]]), 100, 80)
    moved = move_mask(mask, np.array([10, 10, 20, 30]), np.array([40, 20, 60, 60]))
    assert moved[20:60, 40:60].all() and moved.sum() == 20 * 40


class CountingSegmenter:
    backend = "counting"

    def __init__(self):
        self.calls = []

    def segment(self, rgb, boxes, ids=None):
        self.calls.append(len(boxes))
        return [boxes_to_mask(b[None], rgb.shape[1], rgb.shape[0]) for b in boxes]


def test_keyframes_and_new_tracks_trigger_segmentation_of_what_is_new():
    seg = CountingSegmenter()
    frames = []
    for i in range(7):
        f = Frame(i, i, Fraction(1, 25), np.zeros((40, 60, 3), np.uint8))
        f.boxes = np.array([[i, 5, i + 10, 25]] + ([[40, 5, 50, 25]] if i >= 4 else []), np.int32)
        f.ids = np.array([1] + ([2] if i >= 4 else []))
        frames.append(f)
    out = list(SegmentStage(seg, every=3)(frames))
    # frames 0, 3 (keyframes), 4 (id 2 alone: id 1 keeps following), 6 (keyframe: both)
    assert seg.calls == [1, 1, 1, 2]
    assert all(len(f.object_masks) == len(f.boxes) for f in out)
    assert out[2].object_masks[0][5:25, 2:12].all()  # moved with the box
    assert out[4].object_masks[0][5:25, 4:14].all() and out[4].object_masks[1][5:25, 40:50].all()


def tiny_sam():
    """A SAM with the real architecture but tiny widths and random weights (fast on a CPU)."""
    from functools import partial

    from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer

    torch.manual_seed(0)
    size, patch, dim = 256, 16, 64
    encoder = ImageEncoderViT(depth=2, embed_dim=dim, img_size=size, mlp_ratio=2, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                              num_heads=2, patch_size=patch, qkv_bias=True, use_rel_pos=True, global_attn_indexes=[1],
                              window_size=4, out_chans=32)
    prompt = PromptEncoder(embed_dim=32, image_embedding_size=(size // patch, size // patch),
                           input_image_size=(size, size), mask_in_chans=8)
    decoder = MaskDecoder(num_multimask_outputs=3, transformer_dim=32, iou_head_depth=2, iou_head_hidden_dim=32,
                          transformer=TwoWayTransformer(depth=1, embedding_dim=32, mlp_dim=64, num_heads=2))
    return Sam(image_encoder=encoder, prompt_encoder=prompt, mask_decoder=decoder)


def test_sam_segmenter_batches_all_boxes_of_a_frame():
    pytest.importorskip("segment_anything")
    from vidinpaint.segment.sam import SamSegmenter

    model = tiny_sam()
    seg = SamSegmenter(None, "vit_b", "cpu", model=model)
    calls = []
    model.image_encoder.register_forward_hook(lambda *a: calls.append("embed"))
    rgb = background(320, 240)
    boxes = np.array([[10 + 12 * i, 20, 40 + 12 * i, 120] for i in range(20)], np.float32)
    masks = seg.segment(rgb, boxes)
    assert len(masks) == 20 and all(m.shape == (240, 320) and m.dtype == bool for m in masks)
    assert calls == ["embed"]  # one image embedding for all twenty boxes
    assert seg.segment(rgb, np.zeros((0, 4))) == []


def test_masks_follow_optical_flow_between_keyframes():
    seg = CountingSegmenter()

    class Shift:
        backend = "known shift"

        def small(self, a, b):  # current -> previous: content moved right by 3 px per frame
            flow = np.zeros(a.shape[:2] + (2,), np.float32)
            flow[..., 0] = -3
            return flow

    frames = []
    for i in range(4):
        f = Frame(i, i, Fraction(1, 25), np.zeros((40, 60, 3), np.uint8))
        f.boxes = np.array([[10 + 3 * i, 5, 20 + 3 * i, 25]], np.int32)
        f.ids = np.array([1])
        frames.append(f)
    out = list(SegmentStage(seg, every=4, flow=Shift(), margin=2)(frames))
    assert seg.calls == [1]  # only the keyframe was segmented
    assert out[3].object_masks[0][5:25, 19:29].all() and out[3].object_masks[0].sum() == 20 * 10


def test_an_object_entering_over_the_frame_edge_stays_masked_up_to_it_between_keyframes():
    """A walker entering from the right moves left: the flow takes his pixels at the edge back
    to outside the previous frame, where the warped mask read 0, and a strip of him at the edge
    was left unmasked until the next keyframe (``-c fast`` on the sample's frames 12-14), which
    the fill then copied into his own hole."""
    seg = CountingSegmenter()

    class Left:
        backend = "known shift"

        def small(self, a, b):  # current -> previous: content moved left by 4 px per frame
            flow = np.zeros(a.shape[:2] + (2,), np.float32)
            flow[..., 0] = 4
            return flow

    frames = []
    for i in range(4):  # a 10 px wide body, half in view at first, coming in by 4 px a frame
        f = Frame(i, i, Fraction(1, 25), np.zeros((40, 60, 3), np.uint8))
        f.boxes = np.array([[55 - 4 * i, 5, 60, 25]], np.int32)
        f.ids = np.array([1])
        frames.append(f)
    out = list(SegmentStage(seg, every=4, flow=Left(), margin=2)(frames))
    assert seg.calls == [1]
    assert out[3].object_masks[0][5:25, 43:60].all()
