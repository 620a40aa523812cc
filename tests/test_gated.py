"""The DeepFillv2 network, its checkpoints, its training loop and crop/paste, on tiny random models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vidinpaint.config import InpaintConfig
from vidinpaint.inpaint import checkpoint
from vidinpaint.inpaint.crops import paste, plan_crops, to_network
from vidinpaint.inpaint.gated import ContextualAttention, GatedConv, Generator, PatchDiscriminator, SNConv2d
from vidinpaint.inpaint.neural import GatedInpainter
from vidinpaint.inpaint.train import Samples, TrainConfig, Trainer
from vidinpaint.weights import WeightsError


def test_gate_in_unit_interval_and_output_depends_on_mask():
    torch.manual_seed(0)
    layer = GatedConv(4, 6)
    x = torch.randn(2, 4, 16, 16)
    feat, gate = layer.split(x)
    assert gate.min() >= 0 and gate.max() <= 1 and gate.std() > 0
    torch.testing.assert_close(layer(x), feat * gate)
    generator = Generator(cnum=8).eval()
    image = torch.rand(1, 3, 32, 32) * 2 - 1
    a, b = torch.zeros(1, 1, 32, 32), torch.zeros(1, 1, 32, 32)
    a[..., 8:16, 8:16] = 1
    b[..., 16:28, 4:20] = 1
    with torch.no_grad():
        assert not torch.allclose(generator(image, a)[1], generator(image, b)[1])


def test_gradient_reaches_features_and_gates():
    layer = GatedConv(3, 5)
    layer(torch.randn(1, 3, 8, 8)).square().sum().backward()
    grad = layer.conv.weight.grad
    assert grad[:5].abs().sum() > 0 and grad[5:].abs().sum() > 0  # feature half and gate half


def test_contextual_attention_copies_the_matching_known_patch():
    """The hole holds a pattern that appears exactly once in the known region: attention pastes it back."""
    rng = np.random.default_rng(0)
    feat = torch.from_numpy(rng.normal(0, 0.05, (1, 4, 32, 32))).float()
    pattern = torch.from_numpy(rng.normal(0, 1, (4, 8, 8))).float()
    feat[0, :, 4:12, 4:12] = pattern  # known source
    feat[0, :, 20:28, 20:28] = pattern  # the hole, same content
    mask = torch.zeros(1, 1, 128, 128)
    mask[..., 80:112, 80:112] = 1  # feature rows/cols 20-28 at 1/4 scale
    out = ContextualAttention()(feat, feat, mask)
    centre = out[0, :, 22:26, 22:26]
    truth = pattern[:, 2:6, 2:6]
    assert torch.corrcoef(torch.stack([centre.flatten(), truth.flatten()]))[0, 1] > 0.9
    assert (centre - truth).abs().mean() < 0.35 * truth.abs().mean()


def test_contextual_attention_batch_equals_one_at_a_time():
    """Each sample of a batch uses its own mask (the port applies the first sample's to all)."""
    torch.manual_seed(1)
    feat = torch.randn(2, 6, 16, 16)
    mask = torch.zeros(2, 1, 64, 64)
    mask[0, :, 8:24, 8:40] = 1
    mask[1, :, 32:60, 20:44] = 1
    layer = ContextualAttention()
    together = layer(feat, feat, mask)
    alone = torch.cat([layer(feat[i:i + 1], feat[i:i + 1], mask[i:i + 1]) for i in range(2)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


def test_state_dict_round_trip_and_clear_errors(tmp_path):
    generator, disc = Generator(cnum=8), PatchDiscriminator(cnum=8)
    path = tmp_path / "g.pth"
    checkpoint.save(path, generator, disc, meta={"source": "test"})
    loaded, meta = checkpoint.load_generator(path)
    assert meta["source"] == "test" and meta["cnum"] == 8
    for key, value in generator.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value)
    state = generator.state_dict()
    state["stage2.extra.weight"] = state.pop("stage2.conv_bn7.conv.weight")
    state["stage1.conv1.conv.bias"] = torch.zeros(3)
    torch.save({"G": state}, tmp_path / "bad.pth")
    with pytest.raises(WeightsError) as err:
        checkpoint.load_generator(tmp_path / "bad.pth")
    message = str(err.value)
    assert "missing keys: stage2.conv_bn7.conv.weight" in message
    assert "unexpected keys: stage2.extra.weight" in message
    assert "stage1.conv1.conv.bias (3,)" in message
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="not a readable PyTorch checkpoint"):
        checkpoint.load_generator(tmp_path / "junk.pth")


def test_parameter_names_match_the_published_port():
    """Spot checks of names and shapes of the Places2 checkpoint (cnum 48, 4,052,487 values)."""
    state = Generator().state_dict()
    assert sum(v.numel() for v in state.values()) == 4052487
    assert state["stage1.conv1.conv.weight"].shape == (48, 5, 5, 5)
    assert state["stage1.up_block2.conv1_upsample.conv.conv.weight"].shape == (48, 48, 3, 3)
    assert state["stage2.ca_down_block2.conv1_downsample.conv.weight"].shape == (192, 48, 3, 3)
    assert state["stage2.conv_bn6.conv.weight"].shape == (192, 192, 3, 3)
    assert state["stage2.contextual_attention.fuse_weight"].shape == (1, 1, 3, 3)
    assert state["stage2.conv_to_rgb.conv.weight"].shape == (3, 12, 3, 3)
    disc = PatchDiscriminator().state_dict()
    assert disc["conv1.conv_sn.weight"].shape == (64, 4, 5, 5) and disc["conv6.conv_sn.weight_u"].shape == (256, 1)


def _tiny_samples(count: int = 5, size: int = 48) -> Samples:
    rng = np.random.default_rng(1)
    images = []
    for _ in range(count):
        yy, xx = np.mgrid[:size, :size]
        base = rng.integers(40, 200, 3)
        stripes = (np.sin(xx / rng.uniform(2, 6)) * 40)[..., None]
        images.append(np.clip(base + stripes + yy[..., None] * 0.5, 0, 255).astype(np.uint8))
    return Samples(images)


def test_twenty_training_steps_lower_l1_and_keep_spectral_norm(tmp_path):
    config = TrainConfig(size=32, batch=4, lr=1e-3, cnum=8)
    trainer = Trainer(config, discriminator=PatchDiscriminator(cnum=8))
    samples, rng = _tiny_samples(), np.random.default_rng(0)
    losses = [trainer.step(*samples.draw(config.batch, config.size, rng))["l1"] for _ in range(20)]
    assert np.mean(losses[-5:]) < np.mean(losses[:5])
    trainer.discriminator.eval()
    for layer in trainer.discriminator.modules():
        if isinstance(layer, SNConv2d):
            with torch.no_grad():
                top = torch.linalg.matrix_norm(layer.weight.flatten(1) / layer.sigma(), ord=2)
            assert abs(top.item() - 1) < 0.05
    trainer.save(tmp_path / "t.pth")
    again = Trainer.resume(tmp_path / "t.pth", config)
    assert again.step_count == 20 and len(again.history) == 20
    assert again.opt_g.state_dict()["state"].keys() == trainer.opt_g.state_dict()["state"].keys()


def _frame(rng: np.random.Generator, h: int = 120, w: int = 200) -> tuple[np.ndarray, np.ndarray]:
    rgb = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), bool)
    mask[30:70, 40:60] = True
    mask[90:100, 150:190] = True
    return rgb, mask


def test_crops_cover_every_hole_and_paste_touches_only_the_hole():
    rng = np.random.default_rng(3)
    rgb, mask = _frame(rng)
    crops = plan_crops(mask, size=64, merge=4)
    assert len(crops) == 2
    owned = np.zeros_like(mask)
    for crop in crops:
        assert crop.y2 - crop.y1 >= 64 and crop.x2 - crop.x1 >= 64
        owned[crop.box] |= crop.region
    assert np.array_equal(owned, mask)
    out = rgb.copy()
    for crop in crops:
        small, hole = to_network(rgb, mask, crop, 64)
        assert small.shape == (64, 64, 3) and hole.any()
        paste(out, mask, crop, np.full_like(small, 128), feather=4)
    assert np.array_equal(out[~mask], rgb[~mask])
    assert np.abs(out[mask].astype(int) - 128).mean() < np.abs(rgb[mask].astype(int) - 128).mean()


def test_stage_keeps_outside_pixels_and_halves_batch_on_oom(monkeypatch):
    torch.manual_seed(0)
    rng = np.random.default_rng(4)
    items = [_frame(rng) for _ in range(3)]
    config = InpaintConfig(backend="gated", size=64, batch=4, feather=4)
    stage = GatedInpainter(Generator(cnum=8), config, "cpu", "random init")
    reference = stage.fill(items)
    for (rgb, mask), out in zip(items, reference):
        assert np.array_equal(out[~mask], rgb[~mask]) and not np.array_equal(out[mask], rgb[mask])
    forward = stage._forward
    sizes = []

    def small_gpu(images, holes):
        sizes.append(len(images))
        if len(images) > 2:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return forward(images, holes)

    monkeypatch.setattr(stage, "_forward", small_gpu)
    again = stage.fill(items)
    assert stage.batch == 2 and sizes[0] == 4 and max(sizes[1:]) == 2
    for a, b in zip(reference, again):
        assert np.array_equal(a, b)


def test_training_samples_from_images_and_videos(tmp_path, walker_clip):
    from vidinpaint.images import write_image
    from vidinpaint.inpaint.holes import person_mask, stroke_mask

    clip, _, _ = walker_clip
    write_image(tmp_path / "a.png", np.full((40, 50, 3), 90, np.uint8))
    samples = Samples.from_paths([tmp_path / "a.png", clip], frames_per_video=4)
    assert len(samples.images) == 1 + 4
    images, holes, excluded = samples.draw(6, 48, np.random.default_rng(0))
    assert images.shape == (6, 48, 48, 3) and holes.any(axis=(1, 2)).all() and not excluded.any()
    rng = np.random.default_rng(2)
    people = [person_mask(128, 128, rng).mean() for _ in range(20)]
    strokes = [stroke_mask(128, 128, rng).mean() for _ in range(20)]
    assert 0.01 < np.mean(people) < 0.3 and 0.01 < np.mean(strokes) < 0.5


def test_excluded_pixels_are_never_training_holes():
    image = np.full((64, 64, 3), 100, np.uint8)
    person = np.zeros((64, 64), bool)
    person[:, 20:44] = True
    _, holes, excluded = Samples([image], [person]).draw(8, 64, np.random.default_rng(0))
    assert not (holes & excluded).any() and excluded.any(axis=(1, 2)).all()


def test_4k_frame_is_filled_on_a_native_resolution_crop():
    rgb = np.random.default_rng(5).integers(0, 255, (2160, 3840, 3), dtype=np.uint8)
    mask = np.zeros((2160, 3840), bool)
    mask[1500:1620, 3000:3040] = True  # a distant person
    crops = plan_crops(mask, size=256)
    assert [(c.y2 - c.y1, c.x2 - c.x1) for c in crops] == [(256, 256)]  # no downscaling of this hole
    stage = GatedInpainter(Generator(cnum=8), InpaintConfig(backend="gated"), "cpu", "random init")
    out = stage.fill([(rgb, mask)])[0]
    assert np.array_equal(out[~mask], rgb[~mask]) and not np.array_equal(out[mask], rgb[mask])
