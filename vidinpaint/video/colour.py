"""The input's colour description, and RGB conversions that use it both ways.

Before, frames were converted with swscale's default (BT.601, limited range) and the output was
left untagged: a BT.709 HD clip changed colour on a player even where nothing was masked,
full-range MJPEG lost its range, 10-bit HDR came out 8-bit. Now the decoder's tags (matrix,
primaries, transfer, range) drive YUV->RGB on decode and RGB->YUV on encode, and are written to
the output; 10-bit input keeps a 16-bit RGB copy so unmasked pixels keep their precision.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

import av
import cv2
import numpy as np
from av.video.reformatter import Interpolation

UNSPECIFIED = 2          # AVCOL_SPC/PRI/TRC_UNSPECIFIED
MPEG, JPEG = 1, 2        # AVCOL_RANGE_*: limited (16-235) and full (0-255)
PQ, HLG = 16, 18         # AVCOL_TRC_SMPTE2084, AVCOL_TRC_ARIB_STD_B67
BT709, BT470BG, SMPTE170M = 1, 5, 6  # AVCOL_SPC_*
# AVColorSpace -> the swscale coefficient table that implements it (sws ids differ for a few).
_SWS_MATRIX = {1: 1, 4: 4, 5: 5, 6: 5, 7: 7, 9: 9, 10: 9}
_NAMES = {"matrix": {0: "rgb", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m",
                     9: "bt2020nc", 10: "bt2020c"},
          "primaries": {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020", 11: "dci-p3", 12: "display-p3"},
          "transfer": {1: "bt709", 6: "smpte170m", 8: "linear", 13: "srgb", 14: "bt2020-10",
                       16: "pq", 18: "hlg"}}
FIELD_ORDERS = {2: "tt", 3: "bb", 4: "tb", 5: "bt"}  # AVFieldOrder: coded/displayed first field
# swscale flags. Encoding rounds accurately and takes chroma at the sample positions; deeper
# than 8-bit input is decoded the same way, which makes its conversion round trip exact.
# 8-bit decoding keeps swscale's bilinear chroma: nearest-neighbour chroma lowered GrabCut/NanoDet
# mask quality on the sample clip (tests/test_masks_quality.py); the writer reuses the decoded
# samples of unchanged pixels anyway (over_source).
ACCURATE = Interpolation.POINT | Interpolation.ACCURATE_RND
DECODE_8BIT = Interpolation.BILINEAR


@dataclass(frozen=True)
class Colour:
    """How the input's pixels are to be read: AVColorSpace/Primaries/Trc/Range codes as FFmpeg
    numbers them (2 = unspecified), bit depth, chroma subsampling and interlacing.

    ``mastering``/``light`` are the raw HDR10 side data (AVMasteringDisplayMetadata,
    AVContentLightMetadata) of the first frame, when present.
    """

    matrix: int = UNSPECIFIED
    primaries: int = UNSPECIFIED
    transfer: int = UNSPECIFIED
    range: int = 0
    depth: int = 8
    chroma: str = "420"
    alpha: bool = False  # transparency, which the pipeline's RGB frames do not carry
    field_order: int = 0
    height: int = 0
    mastering: bytes | None = None
    light: bytes | None = None

    @property
    def hdr(self) -> bool:
        return self.transfer in (PQ, HLG)

    @property
    def interlaced(self) -> bool:
        return self.field_order in FIELD_ORDERS

    @property
    def full_range(self) -> bool:
        return self.range == JPEG

    @property
    def sws_matrix(self) -> int:
        """The matrix used both ways; untagged video gets what players assume (BT.709 for HD)."""
        if self.matrix in _SWS_MATRIX:
            return _SWS_MATRIX[self.matrix]
        return _SWS_MATRIX[BT709 if self.height > 576 else SMPTE170M]

    def describe(self) -> str:
        """``bt709/bt709/bt709 limited 8-bit 420`` style summary (matrix/primaries/transfer)."""
        tags = "/".join(_NAMES[k].get(getattr(self, k), "unspecified" if getattr(self, k) == UNSPECIFIED
                                      else str(getattr(self, k))) for k in ("matrix", "primaries", "transfer"))
        if self.matrix not in _SWS_MATRIX:
            tags += f" ({'bt709' if self.sws_matrix == BT709 else 'bt601'} matrix assumed)"
        scan = ", interlaced" if self.interlaced else ""
        return f"{tags} {'full' if self.full_range else 'limited'} {self.depth}-bit {self.chroma}{scan}"

    def to_rgb(self, frame: av.VideoFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """``(rgb uint8 HxWx3, deep)``: ``deep`` is ``uint16 HxWx3`` RGB for >8-bit input, else None."""
        args = {"src_colorspace": self.sws_matrix, "dst_colorspace": self.sws_matrix,
                "src_color_range": JPEG if self.full_range else MPEG, "dst_color_range": JPEG}
        if self.depth <= 8:
            return frame.to_ndarray(format="rgb24", interpolation=DECODE_8BIT, **args), None
        deep = frame.to_ndarray(format="rgb48le", interpolation=ACCURATE, **args)
        return ((deep.astype(np.uint32) + 128) // 257).astype(np.uint8), deep

    def from_rgb(self, rgb: np.ndarray, deep: np.ndarray | None, pix_fmt: str) -> av.VideoFrame:
        """An encoder-ready frame in ``pix_fmt`` with the input's matrix, range and tags.

        With ``deep`` (the 16-bit decode of the same frame), pixels the pipeline left unchanged
        keep their 16-bit values; changed ones take the 8-bit result.
        """
        if deep is not None and deep.shape == rgb.shape:
            changed = np.any(rgb != ((deep.astype(np.uint32) + 128) // 257).astype(np.uint8), axis=2)
            wide = np.where(changed[..., None], rgb.astype(np.uint16) * 257, deep)
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(wide), format="rgb48le")
        else:
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        out_range = JPEG if self.full_range else MPEG
        vf = vf.reformat(format=pix_fmt, src_colorspace=self.sws_matrix, dst_colorspace=self.sws_matrix,
                         src_color_range=JPEG, dst_color_range=out_range, interpolation=ACCURATE)
        self.tag(vf)
        return vf

    def over_source(self, rgb: np.ndarray, deep: np.ndarray | None, pix_fmt: str,
                    source: av.VideoFrame, decoded: np.ndarray | None = None) -> av.VideoFrame | None:
        """``rgb`` as :meth:`from_rgb` encodes it, laid over ``source``, the decoded picture it
        came from: RGB -> YUV cannot give back the exact input samples (8-bit rounding, chroma
        filters), so the source's own samples stay wherever the stages left the pixels as
        decoded, and a chroma sample is converted when any pixel it covers changed. Only the
        box around the changed pixels is converted (its corners on a ``BOX_ALIGN`` px grid; the
        whole frame when a side is odd, whose chroma is sited otherwise): the cost of a frame
        follows its hole, and a frame without one is a copy of its samples. None where the
        planar layouts differ (the caller converts the frame). ``decoded``: :meth:`to_rgb`'s
        picture of ``source`` when the caller kept it (a second conversion costs ~7 ms a frame at
        768x576)."""
        layout = pix_fmt.replace("yuvj", "yuv")  # yuvj = the same planes, full range
        if source.format.name.replace("yuvj", "yuv") != layout or not _PLANAR.match(layout):
            return None
        height, width = rgb.shape[:2]
        out = av.VideoFrame(width, height, pix_fmt)
        dtype = np.uint16 if max(c.bits for c in out.format.components) > 8 else np.uint8
        for mine, old in zip(out.planes, source.planes):
            _samples(mine, dtype)[:] = _samples(old, dtype)
        if rgb is decoded:  # no stage replaced the picture: nothing changed
            self.tag(out)
            return out
        differs = rgb != (decoded if decoded is not None else self.to_rgb(source)[0])
        changed = differs[..., 0] | differs[..., 1] | differs[..., 2]  # far faster than any() over an axis of 3
        rows = np.flatnonzero(changed.any(axis=1))
        if len(rows):
            whole = height % 2 or width % 2
            y0, y1 = _box(rows, height, whole)
            x0, x1 = _box(np.flatnonzero(changed[y0:y1].any(axis=0)), width, whole)
            box = (slice(y0, y1), slice(x0, x1))
            new = self.from_rgb(np.ascontiguousarray(rgb[box]), None if deep is None else
                                np.ascontiguousarray(deep[box]), pix_fmt)
            for mine, part in zip(out.planes, new.planes):
                py, px = y0 * mine.height // height, x0 * mine.width // width  # exact: on the grid
                hit = _cover(changed[box], part.height, part.width)
                _samples(mine, dtype)[py:py + part.height, px:px + part.width][hit] = _samples(part, dtype)[hit]
        self.tag(out)
        return out

    def tag(self, target) -> None:
        """Write the tags on a VideoFrame or a codec context (unspecified stays unspecified)."""
        target.colorspace = self.matrix if self.matrix != 0 else UNSPECIFIED
        target.color_primaries = self.primaries
        target.color_trc = self.transfer
        target.color_range = self.range

    def x265_hdr(self) -> str:
        """HDR10 side data as ``x265-params`` (empty when there is none)."""
        params = []
        if self.mastering and len(self.mastering) >= 88:
            v = struct.unpack("<20i2i", self.mastering[:88])
            ratio = [v[2 * i] / v[2 * i + 1] if v[2 * i + 1] else 0.0 for i in range(10)]
            (rx, ry, gx, gy, bx, by, wx, wy), (lo, hi) = ratio[:8], ratio[8:10]
            xy = lambda x, y: f"({round(x * 50000)},{round(y * 50000)})"  # noqa: E731 - 0.00002 units
            params.append(f"master-display=G{xy(gx, gy)}B{xy(bx, by)}R{xy(rx, ry)}WP{xy(wx, wy)}"
                          f"L({round(hi * 10000)},{round(lo * 10000)})")
        if self.light and len(self.light) >= 8:
            params.append("max-cll={},{}".format(*struct.unpack("<2I", self.light[:8])))
        return ":".join(["hdr10=1", *params]) if params else ""


def colour_of(frame: av.VideoFrame, field_order: int) -> Colour:
    """The colour description of a decoded ``frame`` (its tags, format and side data)."""
    fmt = frame.format
    depth, chroma, alpha = pixel_layout(fmt.name)
    side = {sd.type.name: bytes(sd) for sd in frame.side_data}
    return Colour(matrix=int(frame.colorspace), primaries=int(frame.color_primaries), transfer=int(frame.color_trc),
                  range=JPEG if fmt.name.startswith("yuvj") else int(frame.color_range), depth=depth,
                  chroma=chroma, alpha=alpha, field_order=_field_order(frame, field_order), height=frame.height,
                  mastering=side.get("MASTERING_DISPLAY_METADATA"), light=side.get("CONTENT_LIGHT_LEVEL"))


def detached(frame: av.VideoFrame) -> av.VideoFrame:
    """The same pixels in a new frame, without what the decoder attached (chroma siting...).

    swscale places chroma by the frame's siting; frames made from RGB on encode have none, so a
    decoded frame converted as it is came back with its chroma moved. Both directions now see
    the same, unsited frame.
    """
    bare = av.VideoFrame(frame.width, frame.height, frame.format.name)
    try:
        for src, dst in zip(frame.planes, bare.planes, strict=True):
            width = min(src.line_size, dst.line_size)
            np.frombuffer(dst, np.uint8).reshape(dst.height, dst.line_size)[:, :width] = \
                np.frombuffer(src, np.uint8).reshape(src.height, src.line_size)[:, :width]
    except ValueError:  # a layout that is not plain planes (palette, hardware): convert as it is
        return frame
    return bare


_PLANAR = re.compile(r"^yuv4[24][024]p(1[0246]le)?$")
BOX_ALIGN = 16  # px: a box's corners, on the chroma grid of every subsampling (swscale, point-sampled
# chroma, then converts a box exactly as the whole frame: tests/test_video_io.py)


def _box(changed: np.ndarray, size: int, whole: bool) -> tuple[int, int]:
    """From where to where along a side of ``size`` px the box around the ``changed`` indices
    (sorted) runs: on the ``BOX_ALIGN`` grid, within the frame (all of it when ``whole``)."""
    if whole:
        return 0, size
    return changed[0] // BOX_ALIGN * BOX_ALIGN, min(size, -(-(changed[-1] + 1) // BOX_ALIGN) * BOX_ALIGN)


def _samples(plane, dtype: type) -> np.ndarray:
    """The ``height x width`` samples of a plane, as a writable view."""
    return np.frombuffer(plane, dtype).reshape(plane.height, -1)[:, :plane.width]


def _cover(changed: np.ndarray, height: int, width: int) -> np.ndarray:
    """``changed`` (HxW) reduced to a plane of ``height x width``: True where any pixel covered
    is. The mean of each block by OpenCV's area resize at a whole factor, in floats (a block with
    one pixel set stays above 0): numpy's ``any`` over block axes was most of the encoder
    thread's time."""
    fy, fx = -(-changed.shape[0] // height), -(-changed.shape[1] // width)
    if fy == fx == 1:
        return changed
    padded = np.zeros((height * fy, width * fx), np.float32)
    padded[:changed.shape[0], :changed.shape[1]] = changed
    return cv2.resize(padded, (width, height), interpolation=cv2.INTER_AREA) > 0


def _field_order(frame: av.VideoFrame, stream_order: int) -> int:
    """The stream's field order for an interlaced frame (top first when the stream does not say:
    PyAV does not expose the frame's own flag); 0 for progressive."""
    if not frame.interlaced_frame:
        return 0
    return stream_order if stream_order in FIELD_ORDERS else 2


def pixel_layout(pix_fmt: str) -> tuple[int, str, bool]:
    """Bit depth, chroma subsampling (``444``/``422``/``420``) and whether there is alpha, for a
    pixel format. RGB of any component order is 444 (``argb`` counted as 420 and was encoded so);
    grey and palette pictures count as 420, which is how an encoder stores them; otherwise by the
    share of chroma samples kept (4:1:1 as 420, 4:4:0 as 422). A hardware format (no components
    to read) counts as 8-bit 420."""
    fmt = av.VideoFormat(pix_fmt)
    depth = max((c.bits for c in fmt.components), default=8)
    alpha = any(c.is_alpha for c in fmt.components)
    if fmt.is_rgb:
        return depth, "444", alpha
    if len(fmt.components) - alpha < 3:
        return depth, "420", alpha
    share = fmt.chroma_width(64) * fmt.chroma_height(64) / 64 ** 2
    return depth, "444" if share == 1 else "422" if share == 0.5 else "420", alpha
