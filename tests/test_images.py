"""Stills: one image, and a folder of images, through the Python API and the CLI."""

import cv2
import numpy as np
import pytest

import vidinpaint
from vidinpaint.errors import InputError, OutputError, VidinpaintWarning
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


def test_an_option_one_image_of_a_folder_cannot_take_fails_that_image_alone(photo, tmp_path):
    """A box outside the smaller of two images stopped the whole folder, naming neither image."""
    folder = tmp_path / "shots"
    folder.mkdir()
    big = cv2.imread(str(photo[0]))
    cv2.imwrite(str(folder / "a.png"), big)
    cv2.imwrite(str(folder / "b.png"), cv2.resize(big, (big.shape[1] // 4, big.shape[0] // 4)))
    x, y = big.shape[1] // 2, big.shape[0] // 2
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"1 of 2 images failed, 1 written to .*: b\.png: .*outside the"):
        vidinpaint.clean(folder, out, settings={"select": {"boxes": f"{x},{y},{x + 20},{y + 20}@0"}})
    assert [p.name for p in out.iterdir()] == ["a.png"]


def test_each_still_of_a_folder_takes_the_mask_named_as_it(photo, tmp_path):
    """Every still took the mask folder's first mask, silently."""
    folder, masks = tmp_path / "shots", tmp_path / "masks"
    folder.mkdir()
    masks.mkdir()
    img = cv2.imread(str(photo[0]))
    h, w = img.shape[:2]
    for name, half in (("a", np.s_[:, : w // 2]), ("b", np.s_[:, w // 2:])):
        cv2.imwrite(str(folder / f"{name}.png"), img)
        mask = np.zeros((h, w), np.uint8)
        mask[half] = 255
        cv2.imwrite(str(masks / f"{name}.png"), mask)
    vidinpaint.clean(folder, tmp_path / "out", mask=masks)
    for name, changed, kept in (("a", np.s_[:, : w // 2], np.s_[:, w // 2 + 16:]),
                                ("b", np.s_[:, w // 2:], np.s_[:, : w // 2 - 16])):  # 16: past mask.dilate
        diff = np.abs(cv2.imread(str(tmp_path / "out" / f"{name}.png")).astype(int) - img).max(axis=2)
        assert diff[changed].mean() > 5 and diff[kept].max() <= 2, name
    cv2.imwrite(str(masks / "c.png"), np.zeros((h, w), np.uint8))
    with pytest.raises(InputError, match=r"holds 3 mask\(s\) and none named photo"):
        vidinpaint.clean(photo[0], tmp_path / "one.png", mask=masks)
    for name in ("b.png", "c.png"):
        (masks / name).unlink()
    with pytest.raises(InputError, match=r"1 of 2 images failed.*holds 1 mask\(s\) and none named b"):
        vidinpaint.clean(folder, tmp_path / "again", mask=masks)  # a's mask is not b's
    with pytest.raises(OutputError, match="is the input file"):  # the still's own mask, not just its folder
        vidinpaint.clean(folder / "a.png", masks / "a.png", mask=masks, overwrite=True)


def test_transparency_and_greyscale_are_kept_and_what_cannot_be_is_named(photo, tmp_path):
    """An RGBA PNG came out opaque, a grey one RGB, 16 bits 8, EXIF and TIFF pages gone, all
    without a word."""
    import warnings

    _, mask = photo
    img = cv2.cvtColor(background(120, 80, seed=9), cv2.COLOR_RGB2BGR)
    alpha = np.tile(np.linspace(0, 255, 120).astype(np.uint8), (80, 1))
    cv2.imwrite(str(tmp_path / "rgba.png"), np.dstack([img, alpha]))
    cv2.imwrite(str(tmp_path / "grey16.png"), cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257)
    cv2.imwritemulti(str(tmp_path / "pages.tif"), [img, img])
    animation = cv2.Animation()
    animation.frames, animation.durations = [img, img[::-1].copy(), img], [100] * 3
    cv2.imwriteanimation(str(tmp_path / "moving.webp"), animation)  # came out as its first frame, unsaid
    tiff = b"II*\x00\x08\x00\x00\x00" + b"\x00\x00" + b"\x00\x00\x00\x00"  # an empty EXIF directory
    app1 = b"Exif\x00\x00" + tiff
    jpeg = cv2.imencode(".jpg", img)[1].tobytes()
    (tmp_path / "camera.jpg").write_bytes(jpeg[:2] + b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1 + jpeg[2:])
    cases = {"rgba.png": ("rgba.clean.png", []), "rgba.png ": ("rgba.jpg", ["transparency (.jpg has none"]),
             "grey16.png": ("grey16.clean.png", ["16-bit samples (written as 8-bit)"]),
             "pages.tif": ("pages.clean.tif", ["pages after the first (of 2)"]),
             "moving.webp": ("moving.clean.webp", ["frames after the first (of 3: an animation; convert it to a video"]),
             "camera.jpg": ("camera.clean.jpg", ["EXIF metadata"])}
    for name, (out, lost) in cases.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            vidinpaint.clean(tmp_path / name.strip(), tmp_path / out, mask=mask, overwrite=True)
        said = [str(w.message) for w in caught if issubclass(w.category, VidinpaintWarning)]
        assert len(said) == len(lost) and all(words in line for words, line in zip(lost, said)), said
    kept = cv2.imread(str(tmp_path / "rgba.clean.png"), cv2.IMREAD_UNCHANGED)
    assert kept.shape == (80, 120, 4) and (kept[..., 3] == alpha).all()
    assert cv2.imread(str(tmp_path / "grey16.clean.png"), cv2.IMREAD_UNCHANGED).shape == (80, 120)  # still grey


def test_info_on_a_still_says_it_is_one(tmp_path):
    """FFmpeg reads a still as a one-frame stream at its default 25 fps: `info` printed "frame rate
    25.000 fps" and "frames not declared (~None)" for a PNG."""
    from conftest import run_cli

    still = tmp_path / "still.png"
    cv2.imwrite(str(still), background(60, 40))
    done = run_cli("info", str(still))
    assert done.returncode == 0, done.stderr
    assert "none (a still image)" in done.stdout and "frames     1\n" in done.stdout, done.stdout
    assert "None" not in done.stdout and "25.000" not in done.stdout, done.stdout


def test_a_full_disk_while_writing_an_image_says_so_and_leaves_nothing(tmp_path, monkeypatch):
    """OpenCV wrote the file and said only False: "unsupported format '.png'", after libpng's own
    error lines. The encoded picture is written by Python now, whose error names the cause."""
    import errno
    import io

    from vidinpaint import images

    class Full(io.BytesIO):  # opens, then fails as a full disk does: on the write
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(images, "open", lambda *args, **kwargs: Full(), raising=False)
    with pytest.raises(OSError) as err:
        images.write_image(tmp_path / "out.png", np.zeros((8, 8, 3), np.uint8))
    assert err.value.errno == errno.ENOSPC and list(tmp_path.iterdir()) == []
