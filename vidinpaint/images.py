"""Still images: read, write atomically, recognise by extension, resize to a side."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .atomic import atomic_path
from .errors import InputError, OutputError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")


def is_image(path: Path) -> bool:
    """True for files whose extension is a still-image format."""
    return path.suffix.lower() in IMAGE_EXTENSIONS


def read_image(path: Path) -> np.ndarray:
    """``HxWx3 uint8`` RGB, EXIF orientation applied (as viewers show it)."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise InputError(f"{path}: not a readable image")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


ALPHA_EXTENSIONS = (".png", ".tif", ".tiff", ".webp")  # those that hold transparency


@dataclass(frozen=True)
class Extras:
    """What a still image has beyond 8-bit RGB, which the stages do not use: its alpha channel
    (kept where the output holds one), whether it is greyscale (written back so), its bits per
    sample, whether it carries EXIF, and its page count (a multi-page TIFF)."""

    alpha: np.ndarray | None = None
    transparent: bool = False  # has an alpha channel, kept in ``alpha`` unless EXIF may turn the picture
    grey: bool = False
    depth: int = 8
    exif: bool = False
    pages: int = 1
    animated: bool = False  # the pages are an animation's frames (WebP, APNG), not a TIFF's pages

    def lost(self, output: Path) -> list[str]:
        """What writing to ``output`` leaves out, one phrase each (OpenCV writes 8-bit, no EXIF)."""
        lost = [f"its {self.depth}-bit samples (written as 8-bit)"] if self.depth > 8 else []
        if self.transparent and output.suffix.lower() not in ALPHA_EXTENSIONS:
            lost.append(f"its transparency ({output.suffix} has none; PNG, TIFF and WebP keep it)")
        elif self.transparent and self.alpha is None:
            lost.append("its transparency (with EXIF, which may turn the picture, not kept)")
        if self.exif:
            lost.append("its EXIF metadata (camera, date, place)")
        if self.pages > 1 and self.animated:
            lost.append(f"its frames after the first (of {self.pages}: an animation; convert it to a video "
                        f"such as .mp4 to clean every frame)")
        elif self.pages > 1:
            lost.append(f"its pages after the first (of {self.pages})")
        return lost


def image_extras(path: Path) -> Extras:
    """The :class:`Extras` of the image at ``path`` (readable: :func:`read_image` checked it)."""
    raw = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # as stored: no EXIF orientation applied
    if raw is None:
        return Extras()
    with open(path, "rb") as file:
        head = file.read(65536)
    exif = b"Exif\x00\x00" in head or b"eXIf" in head  # JPEG's APP1, PNG's chunk
    channels = 1 if raw.ndim == 2 else raw.shape[2]
    alpha = None
    if channels == 4 and not exif:
        alpha = raw[..., 3]
        if alpha.dtype != np.uint8:
            alpha = (alpha.astype(np.float64) * 255 / np.iinfo(alpha.dtype).max + 0.5).astype(np.uint8)
    try:  # an animated WebP or PNG came out as its first frame without a word
        pages = cv2.imcount(str(path))
    except cv2.error:
        pages = 1
    return Extras(alpha=alpha, transparent=channels == 4, grey=channels == 1, depth=8 * raw.dtype.itemsize,
                  exif=exif, pages=pages, animated=path.suffix.lower() not in (".tif", ".tiff"))


def write_image(path: Path, rgb: np.ndarray, replace: bool = True, extras: Extras = Extras()) -> None:
    """Write ``HxWx3 uint8`` RGB to ``path`` atomically (JPEG quality 95), greyscale or with the
    alpha channel of ``extras`` where the input had them; ``replace`` False keeps a file that
    appeared at ``path`` meanwhile (see :func:`vidinpaint.atomic.publish`)."""
    if not is_image(path):  # OpenCV raises for an extension it does not know
        raise OutputError(f"cannot write image {path}: unsupported format {path.suffix!r}")
    picture = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY if extras.grey else cv2.COLOR_RGB2BGR)
    if extras.alpha is not None and path.suffix.lower() in ALPHA_EXTENSIONS:
        colour = picture if picture.ndim == 3 else cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR)
        picture = np.dstack([colour, extras.alpha])
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if path.suffix.lower() in (".jpg", ".jpeg") else []
    ok, data = cv2.imencode(path.suffix, picture, params)
    if not ok:
        raise OutputError(f"cannot write image {path}: OpenCV cannot encode {path.suffix!r}")
    with atomic_path(path, replace, sweep=False) as tmp, open(tmp, "wb") as file:
        # written here, not by OpenCV: a full disk is an OSError that says so (imwrite said False,
        # which read as an unsupported format, after libpng's own lines on the terminal)
        file.write(memoryview(data))


def fit_side(rgb: np.ndarray, side: int) -> np.ndarray:
    """``rgb`` resized so that its longer side is ``side`` px, keeping its shape (averaging
    areas when it shrinks)."""
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    return cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
