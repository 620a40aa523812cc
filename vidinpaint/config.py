"""Configuration: one dataclass per stage, loaded from YAML presets under ``configs/``.

The dataclasses are the schema and hold the defaults; ``configs/default.yaml`` spells the same
values out for users (a test keeps the two equal). A preset or ``--set section.key=value``
override is merged on top and validated on load: unknown keys, wrong types and out-of-range
values are errors that name the key.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError


def _opt(default: Any, *, choices: tuple | None = None, lo: float | None = None,
         hi: float | None = None, doc: str = "") -> Any:
    return field(default=default, metadata={"choices": choices, "lo": lo, "hi": hi, "doc": doc})


@dataclass
class DecodeConfig:
    """Decoding with PyAV in a background thread."""

    queue_size: int = _opt(8, lo=1, doc="decoded frames buffered ahead of the pipeline")
    threads: int = _opt(0, lo=0, doc="FFmpeg decoder threads (0 = auto)")


@dataclass
class ShotsConfig:
    """Finding shot boundaries, so that nothing is carried from one shot into another."""

    backend: str = _opt("content", choices=("content", "off"),
                        doc="content: PySceneDetect's ContentDetector for hard cuts (plus the mix test for "
                            "dissolves/fades); off: the clip is one shot")
    threshold: float = _opt(27.0, lo=1, hi=255, doc="ContentDetector threshold (lower finds more cuts)")
    min_shot: int = _opt(3, lo=1, doc="frames a shot lasts at least before another cut is accepted")
    gradual: bool = _opt(True, doc="also find dissolves and fades (frames that mix two shots)")
    reach: int = _opt(4, lo=1, hi=30, doc="frames before and after a frame that its mix test compares "
                                          "(look-ahead of the stage: reach + 3 frames)")


@dataclass
class DetectConfig:
    """Finding the objects to remove: boxes with track ids."""

    backend: str = _opt("auto", choices=("auto", "yolo", "nanodet", "motion"),
                        doc="auto: YOLO if its weights are present, else NanoDet, else motion; "
                            "motion: difference from a temporal-median clean plate (static camera)")
    classes: str = _opt("person", doc="COCO class names to remove, comma separated (e.g. person,dog)")
    score: float = _opt(0.3, lo=0, hi=1, doc="minimum detection confidence (low: a missed person costs more than a false box)")
    score_low: float = _opt(0.15, lo=0, hi=1, doc="NanoDet: detections from this score up to detect.score only keep "
                                                  "a track going that a confident detection started, never start one "
                                                  "(as ByteTrack; >= detect.score turns it off)")
    iou: float = _opt(0.5, lo=0, hi=1, doc="non-maximum suppression IoU")
    margin: int = _opt(8, lo=0, hi=512, doc="pixels added around boxes where a box becomes a mask or a GrabCut region")
    tiles: str = _opt("auto", choices=("off", "auto", "on"),
                      doc="also run the detector at full resolution, for far people: NanoDet on the frame "
                          "itself (tiles of up to detect.tile_side), others on tiles of their input size "
                          "(recall of 20-40 px people 0.41 -> 0.91 on the mask benchmark, 2 detector calls "
                          "instead of 1 at 768x576): auto = when the frame's longer side is 1.5x the input or more (NanoDet "
                          "416, YOLO imgsz) and not with ByteTrack, which needs whole frames; on = always "
                          "(YOLO ids then come from IoU matching)")
    every: int = _opt(3, lo=1, doc="run the detector on every n-th frame and each shot's first and last; boxes "
                                   "between are interpolated from the keyframes on either side (look-ahead of n "
                                   "frames, n more for each of detect.workers). 3: 2.00 -> 0.68 detector calls a "
                                   "frame at 768x576, mask IoU "
                                   "0.579 -> 0.576, recall 0.969 -> 0.970 (bench_masks.py --clip 150 --phases 3; "
                                   "5 loses 0.031 IoU). Not with ByteTrack, which needs every frame")
    tile_every: int = _opt(2, lo=1, doc="with detect.every > 1: the tiles (detect.tiles) on every n-th keyframe "
                                        "and each shot's first and last; far people, whom only the tiles find, "
                                        "move few pixels a frame and keep their boxes over the keyframes between "
                                        "(bench_masks.py --clip 150 --tile-every 1,2,3 --phases 3)")
    workers: int = _opt(1, lo=1, hi=16, doc="NanoDet with detect.every > 1: keyframes detected at once, each in a "
                                          "thread of its own, ahead of the tracking; 2 was no faster than 1 on 2 "
                                          "cores with detect.tile_every 2, and holds ~100 MiB more "
                                          "(docs/BENCHMARKS.md)")
    precision: str = _opt("auto", choices=("auto", "fp32", "fp16", "bf16"),
                          doc="NanoDet: auto = bf16 autocast on CPUs with bf16 instructions (AVX512-BF16, "
                              "AMX), else fp32 (on CUDA too, where it is not measured yet)")
    tile_side: int = _opt(1024, lo=0, doc="NanoDet: tiles run at the frame's own resolution, up to this many px a "
                                          "side, as few as cover the frame (one at 768x576); 0 = tiles of its "
                                          "416px input")
    tile_overlap: int = _opt(64, lo=0, doc="px neighbouring tiles share at least; people shorter than this are "
                                           "whole in some tile")
    mirror: float = _opt(0.04, lo=0, hi=1, doc="NanoDet: each picture it sees is extended by its mirror image "
                                                "beyond the frame's left and right edges, so that people across an "
                                                "edge are found more often (bench_masks.py --edge 2 --mirror 0,0.04): "
                                                "the whole frame's 416 px picture and the native-resolution tiles at "
                                                "the frame's edges each by this share of their width (the frame's, "
                                                "for tiles) in whole 32 px strides, at least one; 0 = off")
    still: float = _opt(0.03, lo=0, hi=1, doc="leave alone objects whose box centre drifts less than this share of their "
                                             "height over detect.still_frames frames while no detection of them "
                                             "reaches detect.still_score: false detections of static things (cones, "
                                             "signs, posts; a look-ahead of detect.still_frames frames); 0 = off")
    still_frames: int = _opt(24, lo=3, doc="frames an object is watched before it can be judged still (detect.still)")
    still_score: float = _opt(0.65, lo=0, hi=1, doc="an object detected with this confidence on some frame is never "
                                                    "judged still (detect.still)")
    pose: float = _opt(0.4, lo=0, hi=1, doc="leave alone people at least detect.pose_height of the frame tall, never "
                                            "detected at detect.still_score, while a pose model (MoveNet Lightning) "
                                            "finds no body in their box at this confidence (the mean of its 5 best "
                                            "keypoints): NanoDet's tall false people (car pillars, bokeh) on real "
                                            "street footage (judged with the look-ahead of detect.still_frames "
                                            "frames); 0 = off")
    pose_height: float = _opt(0.5, lo=0, hi=1, doc="share of the frame's height from which a doubtful person gets "
                                                  "the pose check (detect.pose); once looked at, at any height")
    pose_every: int = _opt(3, lo=1, doc="the pose model looks at a doubtful person at most once in this many frames "
                                       "(on frames with the detector's own boxes), until it finds a body (detect.pose)")
    yolo_weights: str = _opt("yolo11n", doc="weights registry name, or a path to a YOLO .pt file")
    imgsz: int = _opt(640, lo=32, doc="YOLO inference size")
    batch: int = _opt(8, lo=1, doc="frames per YOLO call with detect.tracker=iou and detect.every 1 (ByteTrack, NanoDet "
                                   "and keyframes take one frame per call)")
    tracker: str = _opt("bytetrack", choices=("bytetrack", "iou"), doc="YOLO track ids: ultralytics ByteTrack or IoU matching")
    max_gap: int = _opt(5, lo=0, doc="frames a lost track is bridged at its predicted box")
    reid: int = _opt(50, lo=0, doc="frames a lost track is remembered, so an object that reappears where it "
                                   "should be, looking the same (colour histogram), keeps its id (0 = off)")
    window: int = _opt(50, lo=1, doc="motion: frames before and after each frame used for the clean plate")
    stride: int = _opt(5, lo=1, doc="motion: every stride-th frame is a clean-plate sample")
    threshold: float = _opt(28.0, lo=1, hi=255, doc="motion: colour difference (0-255) that counts as foreground")
    min_area: float = _opt(0.0004, lo=0, hi=1, doc="motion: smallest object, as a fraction of the frame area")
    max_side: int = _opt(640, lo=64, doc="motion: frames are downscaled to this longest side")


@dataclass
class SegmentConfig:
    """Refining boxes into tight per-object masks."""

    backend: str = _opt("auto", choices=("auto", "sam", "selfie", "grabcut", "box"),
                        doc="auto: SAM if its weights are present, else grabcut (best offline IoU on "
                            "the mask benchmark; selfie is close and faster on large frames)")
    sam_weights: str = _opt("sam_vit_b", doc="weights registry name (sam_vit_b/l/h) or a path to a checkpoint")
    every: int = _opt(3, lo=1, doc="segment every n-th frame (and a new track where it appears); masks follow optical "
                                   "flow between (3: the best fill on the real clip, steadier masks than 1 or 2: "
                                   "bench_quality.py --real --segment-every; mask IoU and recall: bench_masks.py --clip)")
    grabcut_iterations: int = _opt(1, lo=1, doc="GrabCut iterations per mask (1: IoU and recall at least those of 3 on "
                                                "both mask benchmarks, bench_masks.py --grabcut 1x256,3x256, with "
                                                "and without --clip; segmentation a fifth cheaper on the clip at every 3rd frame)")
    grabcut_warm: bool = _opt(False, doc="a track's cut resumes from the colour models of its last cut instead of "
                                         "fitting new ones (about half of a one-iteration cut; bench_masks.py --clip "
                                         "IoU 0.581 -> 0.579 at the default settings, but up to 1 dB less in a shot "
                                         "of bench_removal.py; on in -c fast)")


@dataclass
class FillConfig:
    """Filling holes from other frames along optical flow, before spatial inpainting."""

    backend: str = _opt("dis", choices=("auto", "dis", "raft", "off"),
                        doc="optical flow: dis (OpenCV, offline), raft (torchvision weights), "
                            "auto (raft if its weights are cached, else dis), off")
    raft_weights: str = _opt("raft_small", doc="weights registry name (raft_small, raft_large) or a path")
    flow_max_side: int = _opt(480, lo=64, doc="flow is computed at this longest side and upsampled")
    flow_refine: int = _opt(0, lo=0, doc="DIS's variational refinement iterations: a smoother flow, about 28 % "
                                         "more CPU in the flow and segment stages, no better fill (bench_quality.py, "
                                         "bench_real.py)")
    window: int = _opt(20, lo=1, doc="future frames searched for revealed background (memory grows with it)")
    tolerance: float = _opt(1.0, lo=0.1, doc="forward-backward flow consistency tolerance, pixels")
    source_margin: int = _opt(2, lo=0, doc="px around every object (its soft edge, blur, compression bleed) "
                                           "never copied into a hole; mask.dilate counts towards it")
    agree: float = _opt(60.0, lo=0, hi=255, doc="a hole pixel seen both in earlier and later frames is copied only "
                                                "if the two agree within this many levels (255 = always)")
    limb: float = _opt(30.0, lo=0, hi=255, doc="inside a removed object's box + detect.margin, a pixel joined to its "
                                              "mask that differs from the background remembered there by more than "
                                              "this many levels is removed too (a hand or shoe the segmenter left "
                                              "out; 255 = never)")
    stable: float = _opt(0.0, lo=0, hi=1, doc="what no frame shows: weight of the inpainting carried along the flow "
                                             "from earlier frames against a fresh one (1 = invent once: least "
                                             "flicker, but up to 1.9 dB lower hole PSNR in bench_real.py; 0 = afresh "
                                             "in every frame; with the gated network, one frame per call)")


@dataclass
class SelectConfig:
    """Which objects to remove: detected tracks by id, place or size, and objects given by hand."""

    tracks: str = _opt("", doc="track ids to remove, e.g. 3,7 (ids from `vidinpaint tracks`); all others are kept")
    keep_tracks: str = _opt("", doc="track ids to keep, e.g. 1,2; all others are removed")
    tracks_file: str = _opt("", doc="a tracks.json from `vidinpaint tracks`: its tracks are removed, except "
                                    "entries with \"remove\": false (tracks not listed are kept)")
    region: str = _opt("", doc="x0,y0,x1,y1 in frame pixels: only objects whose box centre is inside are removed")
    min_height: int = _opt(0, lo=0, doc="only objects whose box is at least this many pixels tall are removed")
    points: str = _opt("", doc="objects given by a point, X,Y@FRAME;X,Y@FRAME: segmented and followed "
                               "through their shot")
    boxes: str = _opt("", doc="objects given by a box, X0,Y0,X1,Y1@FRAME;...: segmented and followed "
                              "through their shot")


@dataclass
class MaskConfig:
    """Turning detections (or user masks) into the per-frame removal mask."""

    dilate: int = _opt(6, lo=0, hi=512, doc="pixels to grow every mask by")
    shadow: float = _opt(1.0, lo=0, hi=3, doc="add the cast shadow attached to an object's feet (darker ground of the "
                                              "same colour), searched this many box heights around the feet; 0 = off")
    hold: int = _opt(3, lo=1, doc="a pixel is unmasked only after this many unmasked frames (1 = no smoothing)")


@dataclass
class InpaintConfig:
    """Filling the masked pixels that no other frame showed."""

    backend: str = _opt("auto", choices=("auto", "gated", "telea", "ns", "patchmatch"),
                        doc="auto: the DeepFillv2 gated-conv network if its weights are present, else telea; "
                            "gated: DeepFillv2 (Yu et al. 2019); telea: OpenCV fast marching (Telea 2004); "
                            "ns: OpenCV Navier-Stokes; patchmatch: copies texture (pip install "
                            "'vidinpaint[patchmatch]'; sharper, 20-50x slower than telea)")
    radius: int = _opt(5, lo=1, hi=64, doc="telea/ns: neighbourhood radius in pixels")
    max_hole_pixels: int = _opt(40000, lo=0, doc="telea/ns: larger holes are filled at reduced scale (0 = never)")
    weights: str = _opt("deepfillv2_places2", doc="gated: weights registry name or a checkpoint path "
                                                  "(e.g. one written by `vidinpaint adapt`)")
    size: int = _opt(0, lo=0, hi=1024, doc="gated: crop side the network sees, multiple of 8; 0 = the size its "
                                         "weights were trained at (256 for the published model)")
    context: float = _opt(0.5, lo=0, hi=4, doc="gated: context around each hole, as a fraction of its longer side")
    batch: int = _opt(16, lo=1, doc="gated: crops per network call (halved automatically on CUDA out-of-memory)")
    precision: str = _opt("auto", choices=("auto", "fp32", "fp16", "bf16"),
                          doc="gated: auto = bf16 (or fp16) autocast on CUDA, fp32 on CPU")
    feather: int = _opt(8, lo=0, hi=64, doc="gated: px over which the colour seam at the hole border is blended away")


@dataclass
class EncodeConfig:
    """Encoding with PyAV in a background thread; audio is copied when the container allows."""

    codec: str = _opt("auto", doc="video encoder; auto: by container (libx264, libx265 for HDR, libvpx-vp9 for "
                                  "WebM, mpeg4 for AVI, prores_ks for ProRes in MOV); or libx264, libsvtav1, "
                                  "prores_ks...")
    crf: int = _opt(18, lo=0, hi=51, doc="constant quality for x264/x265, VP9 and AV1 (lower = better); "
                                         "refused, when changed, by encoders without a CRF mode")
    # checked here: a misspelt preset made libx264 refuse to open, and the output fell back to MPEG-4
    preset: str = _opt("veryfast", choices=("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                                            "slower", "veryslow", "placebo", *(f"p{i}" for i in range(1, 8))),
                       doc="encoder speed preset: x264/x265's names, or NVENC's p1-p7 (NVENC takes p4 for the "
                           "others; x264/x265 take p1-p7 as ultrafast, superfast, veryfast, medium, slow, slower, "
                           "veryslow)")
    pix_fmt: str = _opt("auto", doc="output pixel format; auto: the input's chroma and bit depth where the "
                                    "encoder has them (odd frame sizes take 4:4:4)")
    audio: str = _opt("copy", choices=("copy", "aac", "none"),
                      doc="copy packets (re-encode to AAC if the container refuses them), aac, none")
    drop: str = _opt("", doc="stream kinds to leave out, comma separated (audio, subtitle, data, video, "
                             "attachment, chapters); otherwise what the container cannot hold is an error")
    queue_size: int = _opt(8, lo=1, doc="processed frames buffered for the encoder thread")


@dataclass
class PreviewConfig:
    """The contact sheet written by --preview."""

    frames: int = _opt(4, lo=1, hi=16, doc="frames shown (rows)")
    width: int = _opt(320, lo=64, doc="width of each thumbnail")


@dataclass
class Config:
    """Everything a run needs; one attribute per stage."""

    device: str = _opt("auto", choices=("auto", "cpu", "cuda"), doc="where neural stages run")
    torch_threads: int = _opt(0, lo=0, doc="torch's CPU threads (0: half of torch's own default, as the stages run in parallel)")
    strict: bool = _opt(False, doc="missing weights are an error instead of a fallback to an offline backend")
    weights_dir: str = _opt("", doc="weights cache (default $VIDINPAINT_HOME/weights or ~/.cache/vidinpaint/weights)")
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    shots: ShotsConfig = field(default_factory=ShotsConfig)
    detect: DetectConfig = field(default_factory=DetectConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    select: SelectConfig = field(default_factory=SelectConfig)
    mask: MaskConfig = field(default_factory=MaskConfig)
    fill: FillConfig = field(default_factory=FillConfig)
    inpaint: InpaintConfig = field(default_factory=InpaintConfig)
    encode: EncodeConfig = field(default_factory=EncodeConfig)
    preview: PreviewConfig = field(default_factory=PreviewConfig)


class _Loader(yaml.SafeLoader):
    """YAML 1.2's booleans and decimal numbers, no dates. YAML 1.1 (PyYAML's) would read
    ``backend: off`` as False, ``010`` as 8 and ``1:30`` as 90 (and ``--tracks 010`` removed track
    8), ``2024_01`` as 202401 (a folder's name), and ``1e-4`` as text. Unlike YAML 1.2, hex and
    octal (``0x1F``, ``0o17``) and a number with leading zeros are text. A key given twice in
    one mapping is an error: YAML keeps the last silently, and a second ``detect:`` section
    dropped every setting of the first."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # ``<<: *anchor``: what it brings may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                twice = key in seen
            except TypeError:  # an unhashable key: the constructor says so below
                continue
            if twice:
                raise yaml.constructor.ConstructorError(f"in the mapping at line {node.start_mark.line + 1}", None,
                                                        f"{_brief(key)} is given twice", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


_REPLACED = {"tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
             "tag:yaml.org,2002:timestamp"}  # not in YAML 1.2's core schema: a folder 2024-01-02 is text
_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag not in _REPLACED]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))
_Loader.add_implicit_resolver("tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789"))
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?:\.[0-9]*)?[eE][-+]?[0-9]+)"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+.0123456789"))


def _yaml(text: str | bytes):
    """YAML from text, or from a file's bytes: UTF-8, or UTF-16 with its byte-order mark (as
    Notepad saves it), whatever the locale; other bytes are a YAMLError naming the position."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass


CONFIG_DIRS = (Path(__file__).parent / "configs", Path(__file__).parent.parent / "configs")


def presets() -> dict[str, Path]:
    """Named presets shipped with the package (``configs/*.yaml``)."""
    found: dict[str, Path] = {}
    for folder in CONFIG_DIRS:
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def _coerce(value: Any, kind: Any, key: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):  # NaN passed every range check
                raise ConfigError(f"{key}: expected a finite number, got {_brief(value)}")
            return float(value)
    elif kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    raise ConfigError(f"{key}: expected {kind.__name__}, got {_brief(value)}")


def _brief(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: an error line quotes a value, not a whole file."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit - 3]}..."


def _merge(obj: Any, data: Any, prefix: str) -> None:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'}: expected a mapping, got {_brief(data)}")
    hints = typing.get_type_hints(type(obj))
    known = {f.name: f for f in fields(obj)}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"unknown config key {_brief(path)} (known: {', '.join(known)})")
        kind = hints[key]
        if isinstance(value, _Typed):
            value = value.text() if kind is str else value.read()
        if dataclasses.is_dataclass(kind):
            _merge(getattr(obj, key), value, f"{path}.")
            continue
        value = _coerce(value, kind, path)
        meta = known[key].metadata
        if meta.get("choices") and value not in meta["choices"]:
            raise ConfigError(f"{path}: {_brief(value)} is not one of {', '.join(meta['choices'])}")
        if meta.get("lo") is not None and value < meta["lo"]:
            raise ConfigError(f"{path}: {value!r} is below the minimum {meta['lo']}")
        if meta.get("hi") is not None and value > meta["hi"]:
            raise ConfigError(f"{path}: {value!r} is above the maximum {meta['hi']}")
        setattr(obj, key, value)


def _read_yaml(path: Path) -> dict:
    if path.exists() and not path.is_file():  # a pipe would block the read; a folder is no config
        raise ConfigError(f"config {path} is not a regular file (a folder, a pipe or a device); give a YAML file")
    try:
        data = _yaml(path.read_bytes())
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err.strerror or err}") from None
    except yaml.reader.ReaderError as err:  # a YAMLError too, whose first line reads like a syntax error
        raise ConfigError(f"config {path} is not UTF-8 text (byte {err.position}): save it as UTF-8") from None
    except yaml.MarkedYAMLError as err:  # what is wrong and where: the first line alone said neither
        where = f"line {err.problem_mark.line + 1}, column {err.problem_mark.column + 1}" if err.problem_mark else ""
        what = "; ".join(filter(None, (err.context, err.problem, where)))
        raise ConfigError(f"config {path} is not valid YAML: {what}") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"config {path} is not valid YAML: {str(err).splitlines()[0]}") from None
    if data is not None and not isinstance(data, dict):  # a video given as the config reads as one long string
        raise ConfigError(f"config {path} is not a YAML mapping of settings (it holds {type(data).__name__} "
                          f"{_brief(data)}); `vidinpaint config` prints one")
    return data or {}


class _Typed(str):
    """A ``--set`` value as typed, read when its key's type is known (:func:`_merge`): a text
    option keeps it as written (YAML read ``1e5`` as 100000.0, a folder ``#x`` as nothing)."""

    def text(self) -> str:
        """For a text option: as typed, or unquoted where the whole of it is quoted, as YAML reads it."""
        typed = self.strip()
        if len(typed) >= 2 and typed[0] == typed[-1] and typed[0] in "'\"":
            value = self.read()
            return value if isinstance(value, str) else typed
        return typed

    def read(self) -> Any:
        """The value as YAML reads it, for an option that is not text (or a section)."""
        try:
            value = _yaml(self) if self.strip() else ""
        except yaml.YAMLError:
            return str(self)
        return self.strip() if value is None else value


def parse_override(text: str) -> dict:
    """``"detect.margin=12"`` -> ``{"detect": {"margin": "12"}}``, the value as typed (a
    :class:`_Typed`), read for its key's type when merged."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} must look like section.key=value")
    value = _Typed(raw)
    nested: dict = {}
    node = nested
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value
    return nested


def load_config(preset: str | Path | Config | None = None, overrides: typing.Iterable[str] = (),
                settings: dict | None = None) -> Config:
    """Build a validated :class:`Config`.

    Args:
        preset: a preset name (``fast``), a YAML file path, a :class:`Config` to start from
            (copied), or None for the defaults.
        overrides: ``section.key=value`` strings applied after the preset.
        settings: a nested dict applied last, e.g. ``{"encode": {"crf": 20}}`` (the Python API's
            overrides).
    """
    if isinstance(preset, Config):
        config = copy.deepcopy(preset)
    else:
        config = Config()
    if preset is not None and not isinstance(preset, Config):
        path = Path(preset)
        if not path.suffix:
            known = presets()
            if str(preset) in known:  # a name first: a file called fast in the folder does not shadow it
                path = known[str(preset)]
            elif not path.exists():  # a YAML file saved without an extension is taken as it is
                raise ConfigError(f"unknown preset '{preset}' (known: {', '.join(known)}), and no such file")
        _merge(config, _read_yaml(path), "")
    for text in overrides:
        _merge(config, parse_override(text), "")
    _merge(config, settings or {}, "")
    return config


def as_dict(config: Any) -> dict:
    """Plain nested dict of a config (for YAML dumps, logs and settings hashes)."""
    return dataclasses.asdict(config)


def describe(config_type: type = Config, prefix: str = "") -> list[tuple[str, Any, str]]:
    """``(key, default, doc)`` for every option, for ``--help`` style listings."""
    rows: list[tuple[str, Any, str]] = []
    hints = typing.get_type_hints(config_type)
    default = config_type()
    for f in fields(config_type):
        if dataclasses.is_dataclass(hints[f.name]):
            rows += describe(hints[f.name], f"{prefix}{f.name}.")
        else:
            rows.append((f"{prefix}{f.name}", getattr(default, f.name), f.metadata.get("doc", "")))
    return rows


__all__ = ["Config", "DecodeConfig", "ShotsConfig", "DetectConfig", "SegmentConfig", "SelectConfig", "MaskConfig", "FillConfig",
           "InpaintConfig", "EncodeConfig",
           "PreviewConfig", "load_config", "parse_override", "presets", "as_dict", "describe"]
