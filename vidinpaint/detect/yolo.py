"""ultralytics YOLO detection with ByteTrack ids.

The model is loaded only from a verified local file (the weights registry), never by a name
that ultralytics would download; its settings live in vidinpaint's own folder, with sync
(telemetry) switched off before loading.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np

from ..weights import weights_dir
from .stage import Detections


def results_to_detections(result, classes: list[int]) -> Detections:
    """ultralytics ``Results`` -> :class:`Detections`, keeping only ``classes``."""
    boxes = result.boxes
    if boxes is None or len(boxes) == 0:
        return Detections(np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64))
    cls = boxes.cls.cpu().numpy().astype(int)
    keep = np.isin(cls, classes)
    ids = boxes.id.cpu().numpy().astype(np.int64)[keep] if boxes.id is not None else None
    return Detections(boxes.xyxy.cpu().numpy()[keep], boxes.conf.cpu().numpy()[keep], ids, cls[keep])


def settings_dir() -> Path:
    """Where ultralytics keeps its settings file when vidinpaint loads it: vidinpaint's own folder."""
    return weights_dir().parent / "ultralytics"


def _quiet_ultralytics() -> None:
    """Offline, quiet, no telemetry, and no writes to the user's own Ultralytics settings.

    Importing ultralytics creates (and ``settings.update`` rewrites) a settings file in the user's
    config folder, shared with their own YOLO work; pointing ``YOLO_CONFIG_DIR`` at a folder of
    vidinpaint's keeps both apart (a ``YOLO_CONFIG_DIR`` the user set is respected).
    """
    os.environ.setdefault("YOLO_CONFIG_DIR", str(settings_dir()))
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    from ultralytics import settings

    if settings.get("sync", False):
        settings.update({"sync": False})


@functools.lru_cache(maxsize=2)
def load_yolo(weights: str):
    """A cached ultralytics model: batch workers load the weights once and keep them resident."""
    _quiet_ultralytics()
    from ultralytics import YOLO

    return YOLO(weights, task="detect")


class YoloDetector:
    """Batched YOLO inference; with ``track`` each frame goes through ultralytics' ByteTrack."""

    def __init__(self, weights: Path | str, classes: list[int], score: float = 0.25, iou: float = 0.5,
                 imgsz: int = 640, device: str = "cpu", track: bool = True) -> None:
        self.model = load_yolo(str(weights))
        self.model.predictor = None  # a fresh predictor: ByteTrack state starts anew for each clip
        self.classes, self.score, self.iou, self.imgsz, self.device, self.track = \
            classes, score, iou, imgsz, device, track
        self.backend = (f"ultralytics YOLO {Path(str(weights)).name} ({device}, imgsz {imgsz}, score >= {score}"
                        f"{', ByteTrack ids' if track else ''})")

    def _kwargs(self) -> dict:
        return {"classes": self.classes, "conf": self.score, "iou": self.iou, "imgsz": self.imgsz,
                "device": self.device, "verbose": False, "half": self.device.startswith("cuda")}

    def detect_batch(self, images: list[np.ndarray]) -> list[Detections]:
        bgr = [np.ascontiguousarray(img[..., ::-1]) for img in images]  # ultralytics reads BGR arrays
        if self.track:
            results = [self.model.track(img, persist=True, tracker="bytetrack.yaml", **self._kwargs())[0]
                       for img in bgr]
        else:
            results = self.model.predict(bgr, **self._kwargs())
        return [results_to_detections(r, self.classes) for r in results]
