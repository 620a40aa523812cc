"""Pick each stage's backend from the config, the installed packages and the weights present.

``auto`` prefers the neural default (YOLO, SAM) and falls back to the best offline backend
(NanoDet, GrabCut, the motion detector), saying so in the stage's line together with how to get
the real weights; ``strict`` turns every such fallback into an error. A backend named
explicitly that cannot run is always an error.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from .config import Config, DetectConfig
from .detect.coco import class_ids
from .errors import ConfigError
from .inpaint.classical import METHODS, PATCHMATCH, ClassicalInpainter
from .weights import REGISTRY, WeightsError, WeightsMissing, locate, spec

if TYPE_CHECKING:
    from .detect.still import StillObjects
    from .temporal.fill import Spatial

_YOLO = "pip install 'vidinpaint[yolo]'"
_SAM = "pip install 'vidinpaint[sam]'"
_TORCH = "pip install torch torchvision"


def weights_path(name_or_path: str, root: str | None) -> Path:
    """A registry name -> its verified cached file; anything else is taken as a file path."""
    if name_or_path in REGISTRY:
        return locate(name_or_path, root or None)
    path = Path(name_or_path).expanduser()
    if path.exists() and not path.is_file():  # "does not exist" of a folder misled
        raise WeightsError(f"weights file {path} is a folder (or a pipe or a device), not a weights file")
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist (known registry names: {', '.join(REGISTRY)})")
    return path


def _short_reason(name_or_path: str, package: str, install: str, root: str | None) -> str:
    if importlib.util.find_spec(package) is None:
        return f"{package} not installed ({install})"
    if name_or_path in REGISTRY:
        try:
            locate(name_or_path, root or None)
        except WeightsMissing:
            return f"no {name_or_path} weights (vidinpaint weights fetch {name_or_path})"
        except WeightsError as err:
            return str(err)
    return ""


def _need(package: str, install: str, weights: str, root: str | None) -> Path:
    """Weights for a backend that needs ``package``; raises ConfigError/WeightsError saying what to do."""
    if importlib.util.find_spec(package) is None:
        raise ConfigError(f"{package} is not installed: {install}")
    return weights_path(weights, root)


def _tiled(detector, size: int, c: DetectConfig, native_side: int = 0, mirror: float = 0.0):
    """``detector`` run also on tiles as ``detect.tiles`` says: of its input ``size``, or at native
    resolution up to ``native_side`` px for a detector that takes any size; with ``mirror`` of
    the frame's width mirrored beyond its left and right edges."""
    from .detect.tiles import TiledDetector

    if c.tiles == "off" and not mirror:
        return detector
    try:
        return TiledDetector(detector, size, c.tiles, c.tile_overlap, c.iou, native_side=native_side, mirror=mirror)
    except ValueError as err:
        raise ConfigError(str(err)) from None


def _still(config: Config, named: frozenset[int], device: str, notes: list[str]) -> StillObjects | None:
    """The still-object and pose rules as configured, or None when ``detect.still`` and
    ``detect.pose`` are both 0; the ``named`` ids (those the selection asks for one by one) are
    never left alone. Without the pose model's weights the pose rule is off, said in ``notes``
    (an error with ``strict``)."""
    from .detect.still import StillObjects

    c, root, pose = config.detect, config.weights_dir, None
    if c.pose > 0:
        reason = _short_reason("movenet", "torch", _TORCH, root)
        if reason and config.strict:
            raise ConfigError(f"detect.pose: no fallback with --strict: {reason}, or --set detect.pose=0")
        if reason:
            notes.append(f"pose check off: {reason}")
        else:
            from .detect.pose import PoseCheck

            pose = PoseCheck(weights_path("movenet", root), device)
    if c.still <= 0 and pose is None:
        return None
    return StillObjects(c.still_frames, c.still, c.still_score, named, pose, c.pose_height, c.pose, c.pose_every)


def whole_nanodet(nanodet, c: DetectConfig):
    """``nanodet`` as the pipeline runs it on a frame: also on native-resolution tiles
    (``detect.tiles``), with the frame mirrored beyond its left and right edges (``detect.mirror``)."""
    from .detect.nanodet import SIZE

    return _tiled(nanodet, SIZE, c, c.tile_side, c.mirror)


def build_detector(config: Config, device: str, named: frozenset[int] = frozenset()):
    """The detection stage for ``config`` (see module docstring for the fallback order); ``named``:
    the ids the selection asks for one by one (``Selection.named``), never left alone as still."""
    c, root = config.detect, config.weights_dir
    try:
        classes = class_ids(c.classes)
    except ValueError as err:
        raise ConfigError(f"detect.classes: {err}") from None
    notes = []
    tile_every = c.tile_every if c.tiles != "off" else 1  # the stage line names no tiles where there are none
    if c.backend in ("auto", "yolo"):
        reason = _short_reason(c.yolo_weights, "ultralytics", _YOLO, root)
        if not reason or c.backend == "yolo" or config.strict:
            from .detect.stage import DetectStage
            from .detect.yolo import YoloDetector

            weights = _need("ultralytics", _YOLO, c.yolo_weights, root)
            track = c.tracker == "bytetrack"
            detector = YoloDetector(weights, classes, c.score, c.iou, c.imgsz, device, track=track)
            if c.tiles == "on" or (c.tiles == "auto" and not track):  # ByteTrack needs whole frames
                detector = _tiled(detector, c.imgsz, c)
            notes = ["detect.every ignored: ByteTrack needs every frame"] if track and c.every > 1 else []
            still = _still(config, named, device, notes)
            return DetectStage(detector, batch=1 if track else c.batch, max_gap=c.max_gap, reid=c.reid,
                               every=1 if track else c.every, note="; ".join(notes), still=still,
                               tile_every=tile_every)
        notes.append(f"fallback from YOLO: {reason}")
    if c.backend in ("auto", "nanodet"):
        reason = _short_reason("nanodet", "torch", _TORCH, root)
        if not reason or c.backend == "nanodet":
            from .detect.nanodet import NanoDet
            from .detect.stage import DetectStage

            weak = c.score_low < c.score
            detector = whole_nanodet(NanoDet(_need("torch", _TORCH, "nanodet", root), classes,
                                             min(c.score, c.score_low), c.iou, device, c.precision), c)
            still = _still(config, named, device, notes)
            return DetectStage(detector, batch=1, max_gap=c.max_gap, note="; ".join(notes), reid=c.reid,
                               every=c.every, confident=c.score if weak else None, still=still, workers=c.workers,
                               tile_every=tile_every)
        notes.append(f"fallback from NanoDet: {reason}")
    from .detect.motion import MotionDetector

    return MotionDetector(c, note="; ".join(notes))


def _mask_flow(config: Config):
    """Optical flow that carries masks between keyframes (only needed when not every frame is segmented)."""
    if config.segment.every == 1:
        return None
    from .temporal.flow import DisFlow

    return DisFlow(config.fill.flow_max_side, config.fill.flow_refine)


def build_segmenter(config: Config, device: str, person_rules: bool = True):
    """The segmentation stage: SAM when possible, else GrabCut, the offline refiner with the best
    IoU on the mask benchmark (docs/BENCHMARKS.md). ``person_rules`` False turns GrabCut's rules
    for a detector's boxes of people off (for a user's box or point around any object)."""
    from .segment import BoxSegmenter, GrabCutSegmenter, SegmentStage

    c, margin, root = config.segment, config.detect.margin, config.weights_dir
    note = ""
    if c.backend in ("auto", "sam"):
        reason = _short_reason(c.sam_weights, "segment_anything", _SAM, root)
        if not reason or c.backend == "sam" or config.strict:
            from .segment.sam import SamSegmenter

            checkpoint = _need("segment_anything", _SAM, c.sam_weights, root)
            model_type = spec(c.sam_weights).meta["model_type"] if c.sam_weights in REGISTRY else \
                next((t for t in ("vit_b", "vit_l", "vit_h") if t in checkpoint.name), "vit_b")
            return SegmentStage(SamSegmenter(checkpoint, model_type, device), c.every, flow=_mask_flow(config),
                                margin=margin)
        note = f"fallback from SAM: {reason}"
    if c.backend == "selfie":
        from .segment.selfie import SelfieSegmenter

        weights = _need("torch", _TORCH, "selfie", root)
        return SegmentStage(SelfieSegmenter(weights, margin, device=device), c.every, flow=_mask_flow(config),
                            margin=margin)
    if c.backend == "box":
        return SegmentStage(BoxSegmenter(margin), 1)
    rules = {} if person_rules else {"min_share": 0.0, "feet": False}  # see GrabCutSegmenter
    cutter = GrabCutSegmenter(margin, iterations=c.grabcut_iterations, warm=c.grabcut_warm, **rules)
    return SegmentStage(cutter, c.every, note=note, flow=_mask_flow(config), margin=margin)


def build_fill(config: Config, device: str, spatial: Spatial | None = None):
    """The flow-guided fill stage, or None when ``fill.backend`` is ``off``; with ``fill.stable`` it
    fills what no frame shows itself, with ``spatial`` (the inpainting stage's own method), and
    carries that along the flow."""
    from .temporal.fill import FlowFill
    from .temporal.flow import DisFlow

    c = config.fill
    if c.backend == "off":
        return None
    note = _dis_note(config)
    if note is None:
        import torch
        from torchvision.models.optical_flow import raft_large, raft_small

        from .temporal.raft import RaftFlow

        path = _need("torchvision", _TORCH, c.raft_weights, config.weights_dir)
        large = "large" in (spec(c.raft_weights).meta["size"] if c.raft_weights in REGISTRY else path.name)
        model = (raft_large if large else raft_small)(weights=None)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        flow = RaftFlow(model, device, c.flow_max_side, name=f"RAFT {'large' if large else 'small'}")
    else:
        flow = DisFlow(c.flow_max_side, c.flow_refine)
    return FlowFill(flow, window=c.window, tolerance=c.tolerance, note=note, source_margin=source_margin(config),
                    agree=c.agree, limb=c.limb, box_margin=config.detect.margin, spatial=spatial if c.stable else None,
                    stable=c.stable)


def _dis_note(config: Config, check: bool = True) -> str | None:
    """None where the fill runs RAFT, else DIS's note (why not RAFT, or "" when asked for DIS);
    ``check``: RAFT's missing weights with ``strict`` raise (else that case counts as RAFT)."""
    c = config.fill
    if c.backend != "auto":
        return None if c.backend == "raft" else ""
    reason = _short_reason(c.raft_weights, "torchvision", _TORCH, config.weights_dir)
    if reason and config.strict:
        if check:
            _need("torchvision", _TORCH, c.raft_weights, config.weights_dir)
        return None
    return f"fallback from RAFT: {reason}" if reason else None


def _classical_note(config: Config) -> str | None:
    """None where the inpainting stage runs the gated network, else its classical method's note."""
    c = config.inpaint
    if c.backend in METHODS:
        return ""
    reason = _short_reason(c.weights, "torch", _TORCH, config.weights_dir) if c.weights in REGISTRY else ""
    return f"fallback from DeepFillv2: {reason}" if reason and c.backend == "auto" and not config.strict else None


def neural_after_masks(config: Config) -> bool:
    """Whether a stage after the masks (the fill's flow, the inpainting) runs a torch model: with
    the user's masks and neither, nothing needs torch, whose import alone takes seconds."""
    return (config.fill.backend != "off" and _dis_note(config, check=False) is None) or _classical_note(config) is None


def source_margin(config: Config) -> int:
    """Px the fill keeps its sources away from the masks: what ``mask.dilate`` does not already keep."""
    return max(0, config.fill.source_margin - config.mask.dilate)


def build_inpainter(config: Config, device: str):
    """The spatial inpainting stage: DeepFillv2 when its weights are present (``auto``), else Telea."""
    c = config.inpaint
    if c.backend == "patchmatch" and importlib.util.find_spec("patchmatch") is None:
        raise ConfigError(f"inpaint.backend patchmatch needs pypatchmatch: {PATCHMATCH}")
    if c.backend not in METHODS and c.size % 8:
        raise ConfigError(f"inpaint.size must be a multiple of 8, got {c.size}")
    note = _classical_note(config)
    if note is not None:
        return ClassicalInpainter(c, note=note)
    from .inpaint.neural import PUBLISHED_SIZE, GatedInpainter, resident_generator

    path = _need("torch", _TORCH, c.weights, config.weights_dir)
    model, meta = resident_generator(str(path.resolve()), device)
    meta = dict(meta)
    return GatedInpainter(model, c, device, source=meta.get("source", path.name),
                          trained_size=int(meta.get("size", PUBLISHED_SIZE)))
