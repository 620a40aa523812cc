"""Shot boundaries, found as frames arrive: hard cuts, and gradual transitions (dissolves, fades).

Edited footage is a sequence of shots, and nothing may travel between them: pixels, flows, the
fill's carry, masks carried by flow, track ids, hysteresis. This stage sets ``frame.shot`` (and
``frame.mixed`` inside a transition) right after decode, so every later stage that keeps context
resets at the same place instead of each guessing on its own.

* Hard cuts: PySceneDetect's ContentDetector (HSV + edge difference between consecutive
  frames), driven frame by frame through its ``process_frame`` API.
* Dissolves and fades: a frame inside one is a mix of the frames ``reach`` before and after it,
  ``f = (1 - a) A + a B`` with ``0 < a < 1``, while neither end, even motion-compensated (DIS
  flow), explains it. A pan or a walker fails that test (one end explains the frame once
  warped); a cut fails it (``a`` is 0 or 1). Tested on small thumbnails: cheap, and noise-free.
  Runs of at least two such frames, grown by two frames each side, become one transition shot of
  ``mixed`` frames. Wipes are not a mix and are not detected as such (a cut may fire in them).

Memory: ``reach`` + 3 frames of look-ahead and ``reach`` thumbnails behind, whatever the clip length.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import cv2
import numpy as np

from .config import ShotsConfig
from .frames import Frame
from .temporal.flow import dis_calc

THUMB_WIDTH = 96
BLUR = 1.5  # px on the thumbnail: motion inside a shot moves fine texture, not the broad picture
MIN_CHANGE = 12.0  # mean |A - B| (0-255) below which the two ends are the same picture
MIX_RANGE = (0.1, 0.9)  # the mixing weight of a frame inside a transition
GROW = 2  # frames added to each side of a transition: its ends hold a little of the other shot


def thumbnail(rgb: np.ndarray) -> np.ndarray:
    """``hxwx3 float32`` small copy the transition test runs on."""
    h, w = rgb.shape[:2]
    size = (THUMB_WIDTH, max(8, round(h * THUMB_WIDTH / w)))
    return cv2.GaussianBlur(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32), (0, 0), BLUR)


def _explained(target: np.ndarray, source: np.ndarray, dis) -> float:
    """Mean error left when ``source`` is warped onto ``target`` along DIS flow."""
    grey = [cv2.cvtColor(x.astype(np.uint8), cv2.COLOR_RGB2GRAY) for x in (target, source)]
    flow = dis_calc(dis, grey[0], grey[1])
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    warped = cv2.remap(source, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return float(np.abs(target - warped).mean())


def is_mix(before: np.ndarray, frame: np.ndarray, after: np.ndarray, dis) -> bool:
    """Whether the thumbnail ``frame`` is a blend of ``before`` and ``after`` that neither
    explains alone (see the module docstring)."""
    step = after - before
    if np.abs(step).mean() < MIN_CHANGE:
        return False
    weight = float((step * (frame - before)).sum() / max(float((step * step).sum()), 1e-6))
    if not MIX_RANGE[0] < weight < MIX_RANGE[1]:
        return False
    residual = float(np.abs(frame - before - weight * step).mean())
    return residual < 0.5 * min(_explained(frame, before, dis), _explained(frame, after, dis))


@dataclass
class ShotReport:
    """What the stage found: shots (transitions not counted), first frames after hard cuts,
    transitions as (first, last) frame."""

    shots: int = 0
    cuts: list[int] = field(default_factory=list)
    transitions: list[tuple[int, int]] = field(default_factory=list)

    def __str__(self) -> str:
        cuts = f"cuts at {', '.join(map(str, self.cuts))}" if self.cuts else "no cuts"
        mixes = "".join(f", transition {a}-{b}" for a, b in self.transitions)
        return f"{self.shots} shots ({cuts}{mixes})"


class ShotDetector:
    """Stage: sets ``frame.shot`` and ``frame.mixed``; ``report`` says what it found so far."""

    name = "shots"

    def __init__(self, config: ShotsConfig) -> None:
        from scenedetect import ContentDetector
        from scenedetect.detector import FlashFilter

        self.config = config
        # SUPPRESS answers on the frame itself (MERGE may name an earlier frame, later)
        self.content = ContentDetector(threshold=config.threshold, min_scene_len=config.min_shot,
                                       filter_mode=FlashFilter.Mode.SUPPRESS)
        self.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.report = ShotReport()
        self._raw: dict[int, bool] = {}  # mix test per stream position, while still needed
        self._shot, self._mixed = -1, False

    @property
    def backend(self) -> str:
        import scenedetect

        c = self.config
        gradual = (f"; dissolves/fades: frames mixing the frames {c.reach} before and after"
                   if c.gradual else "; gradual transitions not searched")
        return (f"PySceneDetect {scenedetect.__version__} ContentDetector, threshold {c.threshold:g}, "
                f"shots >= {c.min_shot} frames{gradual}")

    def _cut(self, index: int, rgb: np.ndarray) -> bool:
        from scenedetect.common import FrameTimecode
        from scenedetect.scene_manager import compute_downscale_factor

        # downscaled as PySceneDetect's own SceneManager does by default (longer side to 256 px,
        # linear), which its thresholds assume, and a fraction of the cost of the full frame
        h, w = rgb.shape[:2]
        factor = compute_downscale_factor(max(h, w))
        if factor > 1:
            rgb = cv2.resize(rgb, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_LINEAR)
        # frame numbers are all it uses (min_shot is in frames): any rate will do
        found = self.content.process_frame(FrameTimecode(index, fps=Fraction(25)), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return any(tc.frame_num == index for tc in found)

    def _core(self, k: int) -> bool:
        """Part of a run of at least two mixed frames (one alone is noise)."""
        raw = self._raw.get
        return raw(k, False) and (raw(k - 1, False) or raw(k + 1, False))

    def _emit(self, frame: Frame, cut: bool, position: int, pending: deque[tuple[Frame, bool]]) -> Frame:
        """Final flags of ``frame`` (``pending``: the frames after it, with their cut flags)."""
        mixed = any(self._core(position + k) for k in range(-GROW, GROW + 1))
        # the cut detector often fires on a dissolve's last, faint step: the frames up to it still mix
        mixed |= self._mixed and not cut and any(c for _, c in itertools.islice(pending, GROW + 1))
        report = self.report
        if self._shot < 0 or mixed != self._mixed or (cut and not mixed):
            self._shot += 1
            if not mixed:
                report.shots += 1
            if cut and not mixed and not self._mixed and self._shot > 0:
                report.cuts.append(frame.index)
            if mixed and not self._mixed:
                report.transitions.append((frame.index, frame.index))
        if mixed:
            report.transitions[-1] = (report.transitions[-1][0], frame.index)
        self._mixed = mixed
        frame.shot, frame.mixed = self._shot, mixed
        self._raw.pop(position - GROW - 2, None)
        return frame

    def __call__(self, frames: Iterable[Frame]) -> Iterator[Frame]:
        reach = self.config.reach
        thumbs: deque[np.ndarray] = deque(maxlen=2 * reach + 1)
        pending: deque[tuple[Frame, bool]] = deque()  # frames not yet out, and whether a cut starts each
        first = 0  # stream position of pending[0]
        for n, frame in enumerate(frames):
            cut = self._cut(frame.index, frame.rgb)
            pending.append((frame, cut))
            if self.config.gradual:
                thumbs.append(thumbnail(frame.rgb))
                middle = n - reach
                if middle >= reach:  # thumbs holds positions middle - reach ... n
                    self._raw[middle] = not pending[middle - first][1] and is_mix(
                        thumbs[0], thumbs[reach], thumbs[-1], self.dis)
            # position j is final once the mix test ran on j + GROW + 1 (see _core)
            while pending and n - first >= (reach + GROW + 1 if self.config.gradual else 0):
                yield self._emit(*pending.popleft(), first, pending)
                first += 1
        while pending:
            yield self._emit(*pending.popleft(), first, pending)
            first += 1
