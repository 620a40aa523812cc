"""Stills: one image, and a folder of images, through the Python API and the CLI."""

import cv2
import numpy as np
import pytest

import vidinpaint
from vidinpaint.errors import InputError
from vidinpaint.synthetic import background


@pytest.fixture
def photo(tmp_path):
    img = background(120, 80, seed=9)
    img[20:50, 30:60] = (255, 0, 0)
    cv2.imwrite(str(tmp_path / "photo.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    mask = np.zeros((80, 120), np.uint8)
    mask[18:52, 28:62] = 255
    cv2.imwrite(str(tmp_path / "mask.png"), mask)
    return tmp_path / "photo.jpg", tmp_path / "mask.png"


def test_clean_photo_writes_photo_clean_jpg(photo):
    path, mask = photo
    result = vidinpaint.clean(path, mask=mask)
    assert result.output == path.with_name("photo.clean.jpg")
    out = cv2.cvtColor(cv2.imread(str(result.output)), cv2.COLOR_BGR2RGB)
    assert out[35, 45, 0] < 200 or out[35, 45, 1] > 60  # the red square is gone


def test_a_still_with_the_motion_detector_explains_what_to_do(photo):
    with pytest.raises(InputError, match="pass --mask"):
        vidinpaint.clean(photo[0], settings={"detect": {"backend": "motion"}})
    assert not photo[0].with_name("photo.clean.jpg").exists()


def test_folder_of_images_is_a_batch_of_stills(photo, tmp_path):
    folder = tmp_path / "shots"
    folder.mkdir()
    for name in ("a.jpg", "b.png"):
        cv2.imwrite(str(folder / name), cv2.imread(str(photo[0])))
    results = vidinpaint.clean(folder, mask=photo[1])
    assert sorted(r.output.name for r in results) == ["a.jpg", "b.png"]
    assert all(r.output.parent == tmp_path / "shots.clean" for r in results)


def test_a_bad_image_in_a_folder_fails_alone(photo, tmp_path):
    """The good images are cleaned and one error names the bad one (the first bad image stopped
    the rest); a folder the run made and wrote nothing to is removed again."""
    folder = tmp_path / "shots"
    folder.mkdir()
    for name in ("a.jpg", "c.png"):
        cv2.imwrite(str(folder / name), cv2.imread(str(photo[0])))
    (folder / "b.jpg").write_text("not an image")
    out = tmp_path / "out"
    with pytest.raises(InputError, match=rf"1 of 3 images failed, 2 written to {out}: .*b.jpg"):
        vidinpaint.clean(folder, out, mask=photo[1])
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "c.png"]
    (folder / "a.jpg").write_text("nor this")
    (folder / "c.png").unlink()
    with pytest.raises(InputError, match="2 of 2 images failed, 0 written"):
        vidinpaint.clean(folder, tmp_path / "never", mask=photo[1])
    assert not (tmp_path / "never").exists()
