from fractions import Fraction

import cv2
import numpy as np
import pytest

from vidinpaint.config import MaskConfig
from vidinpaint.errors import InputError, VidinpaintWarning
from vidinpaint.frames import Frame
from vidinpaint.masks import MaskBuilder, UserMasks, dilate, mask_files


def frames(n, h=20, w=30):
    return [Frame(i, i, Fraction(1, 10), np.zeros((h, w, 3), np.uint8)) for i in range(n)]


def test_dilate_grows_by_the_radius():
    m = np.zeros((21, 21), bool)
    m[10, 10] = True
    grown = dilate(m, 3)
    assert grown[10, 7] and grown[10, 13] and not grown[10, 6]
    assert dilate(m, 0) is m


def test_mask_builder_unions_boxes_and_existing_mask():
    f = frames(1)[0]
    f.boxes = np.array([[0, 0, 5, 5]], np.int32)
    f.mask = np.zeros((20, 30), bool)
    f.mask[10, 20] = True
    out = next(MaskBuilder(MaskConfig(dilate=0))([f]))
    assert out.mask.sum() == 26


def test_single_image_mask_is_resized_to_the_frame(tmp_path):
    m = np.zeros((10, 15), np.uint8)
    m[:5, :] = 255
    cv2.imwrite(str(tmp_path / "m.png"), m)
    out = list(UserMasks(tmp_path / "m.png")(frames(3)))
    assert all(f.mask.shape == (20, 30) and f.mask[:10].all() and not f.mask[10:].any() for f in out)


def test_mask_folder_is_in_natural_order_and_must_be_long_enough(tmp_path):
    for i in (1, 2, 10):
        cv2.imwrite(str(tmp_path / f"mask{i}.png"), np.full((20, 30), 255 if i == 10 else 0, np.uint8))
    assert [p.name for p in mask_files(tmp_path)] == ["mask1.png", "mask2.png", "mask10.png"]
    out = list(UserMasks(tmp_path)(frames(3)))
    assert [f.mask.any() for f in out] == [False, False, True]
    with pytest.raises(InputError, match="fewer masks than the video has frames"):
        list(UserMasks(tmp_path)(frames(4)))
    with pytest.warns(VidinpaintWarning, match=r"holds 3 masks for 2 frames; the last 1 \(from mask10.png\)"):
        list(UserMasks(tmp_path)(frames(2)))  # more masks than frames went unsaid


def test_a_mask_folder_with_text_names_and_hidden_files_sorts(tmp_path):
    """``10.png`` beside ``README.png`` compared an int with a str (a traceback); a Mac's ``._0.png`` is no mask."""
    for name in ("10.png", "2.png", "README.png", "._0.png", "b2.png", "b10.png", "\u00b2.png"):
        cv2.imwrite(str(tmp_path / name), np.zeros((4, 4), np.uint8))
    assert [p.name for p in mask_files(tmp_path)] == ["2.png", "10.png", "README.png", "b2.png", "b10.png", "\u00b2.png"]


def test_missing_or_empty_mask_sources(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        UserMasks(tmp_path / "nope.png")
    with pytest.raises(InputError, match="no mask images"):
        UserMasks(tmp_path)
    (tmp_path / "bad.png").write_text("not a png")
    with pytest.raises(InputError, match="not a readable mask image"):
        UserMasks(tmp_path / "bad.png")


def test_mask_builder_uses_object_masks_and_their_cast_shadow():
    f = frames(1)[0]
    f.rgb[:] = (120, 140, 90)  # ground
    f.rgb[12:17, 9:20] = (60, 70, 45)  # half the light, same chromaticity: a shadow at the feet
    f.boxes = np.array([[5, 2, 15, 12]], np.int32)
    obj = np.zeros((20, 30), bool)
    obj[4:12, 8:12] = True
    f.object_masks = [obj]
    out = next(MaskBuilder(MaskConfig(dilate=0, shadow=1.0), margin=8)([f]))
    assert out.mask[4:12, 8:12].all() and not out.mask[4:10, 5:7].any()  # object mask, not the box + margin
    assert out.mask[12:17, 9:20].all() and out.mask.sum() == obj.sum() + 5 * 11  # and the shadow, nothing else
    f.object_masks, f.mask = [obj], None
    assert next(MaskBuilder(MaskConfig(dilate=0, shadow=0.0), margin=8)([f])).mask.sum() == obj.sum()
