import cv2
import numpy as np
import pytest

from vidinpaint.inpaint import inpaint_frame
from vidinpaint.synthetic import background


@pytest.mark.parametrize("method", ["telea", "ns", "patchmatch"])
def test_outside_pixels_are_bit_identical_and_the_hole_is_filled(method):
    img = background(120, 90, seed=2)
    mask = np.zeros((90, 120), bool)
    mask[30:50, 40:70] = True
    damaged = img.copy()
    damaged[mask] = 255
    out = inpaint_frame(damaged, mask, method, 5)
    assert np.array_equal(out[~mask], damaged[~mask])
    assert np.abs(out[mask].astype(int) - img[mask].astype(int)).mean() < \
        0.5 * np.abs(damaged[mask].astype(int) - img[mask].astype(int)).mean()


def test_cropping_gives_the_same_result_as_the_whole_frame():
    img = background(200, 150, seed=5)
    mask = np.zeros((150, 200), bool)
    mask[60:80, 90:120] = True
    mask[70:75, 130:140] = True
    whole = cv2.inpaint(img, mask.astype(np.uint8), 5, cv2.INPAINT_TELEA)
    out = inpaint_frame(img, mask, "telea", 5)
    assert np.abs(out[mask].astype(int) - whole[mask].astype(int)).max() <= 1


def test_empty_mask_and_bad_arguments():
    img = background(40, 30)
    assert inpaint_frame(img, np.zeros((30, 40), bool)) is img
    with pytest.raises(ValueError, match="does not match"):
        inpaint_frame(img, np.zeros((10, 10), bool))
    with pytest.raises(ValueError, match="method"):
        inpaint_frame(img, np.zeros((30, 40), bool), "magic")


def test_large_holes_at_reduced_scale_stay_close_and_keep_outside_pixels():
    img = background(400, 300, seed=6)
    mask = np.zeros((300, 400), bool)
    mask[80:220, 120:260] = True
    full = inpaint_frame(img, mask, "telea", 5)
    fast = inpaint_frame(img, mask, "telea", 5, max_hole_pixels=5000)
    assert np.array_equal(fast[~mask], img[~mask])
    err_full = np.abs(full[mask].astype(int) - img[mask].astype(int)).mean()
    err_fast = np.abs(fast[mask].astype(int) - img[mask].astype(int)).mean()
    assert err_fast < 1.2 * err_full + 1, (err_full, err_fast)


def test_patchmatch_copies_texture_where_telea_blurs():
    """Vertical stripes with a hole: PatchMatch continues the stripes, diffusion smears them."""
    xx = np.tile(np.arange(96), (64, 1))
    img = np.repeat(np.where((xx // 4) % 2 == 0, 40, 220).astype(np.uint8)[..., None], 3, axis=2)
    mask = np.zeros((64, 96), bool)
    mask[20:44, 36:60] = True
    errors = {m: np.abs(inpaint_frame(img, mask, m, 5)[mask].astype(int) - img[mask]).mean() for m in ("telea", "patchmatch")}
    assert errors["patchmatch"] < 0.5 * errors["telea"]
