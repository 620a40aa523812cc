"""DeepFillv2: the gated-convolution inpainting network and its SN-PatchGAN discriminator.

Yu et al., "Free-Form Image Inpainting with Gated Convolution" (ICCV 2019), building on Yu et
al., "Generative Image Inpainting with Contextual Attention" (CVPR 2018). Written from the papers;
module and parameter names follow the widely used PyTorch port of the authors' Places2 model
(``states_pt_places2.pth``: ``stage1.conv1.conv.weight`` ...), so that checkpoint loads with strict
key matching (:mod:`vidinpaint.inpaint.checkpoint`).

Every convolution of the generator is *gated*: it computes features and a gate, and outputs
``act(features) * sigmoid(gate)``. The gate is learned per channel and per pixel, so the network
decides for itself how much a location counts as "known", where partial convolution updates a
hand-set binary mask. Two stages: a coarse encoder-decoder with dilated convolutions (wide
receptive field), then a refinement network whose second branch uses contextual attention to copy
feature patches from the known region into the hole.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GatedConv(nn.Module):
    """``act(conv_f(x)) * sigmoid(conv_g(x))``; one ``nn.Conv2d`` computes both halves.

    ``gated=False`` makes it a plain convolution (the last, to-RGB layer).
    """

    def __init__(self, cin: int, cout: int, ksize: int = 3, stride: int = 1, dilation: int = 1,
                 act: nn.Module | None = None, gated: bool = True) -> None:
        super().__init__()
        self.cout, self.gated = cout, gated
        self.act = nn.ELU() if act is None and gated else act
        self.conv = nn.Conv2d(cin, 2 * cout if gated else cout, ksize, stride, dilation * (ksize - 1) // 2,
                              dilation=dilation)
        if self.act is not None:  # He init for the activation that follows (fan_out, as in the port)
            nn.init.kaiming_uniform_(self.conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(self.conv.bias)

    def split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The activated features and the gate in [0, 1], before they are multiplied."""
        feat, gate = self.conv(x).split(self.cout, dim=1)
        return (self.act(feat) if self.act is not None else feat), torch.sigmoid(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.gated:
            y = self.conv(x)
            return self.act(y) if self.act is not None else y
        feat, gate = self.split(x)
        return feat * gate


class _Upsample(nn.Module):
    """Nearest x2 then a gated 3x3 convolution (no transposed-conv checkerboard)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = GatedConv(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class _Down(nn.Module):
    """Stride-2 gated conv, then a stride-1 one."""

    def __init__(self, cin: int, cout: int, hidden: int) -> None:
        super().__init__()
        self.conv1_downsample = GatedConv(cin, hidden, stride=2)
        self.conv2 = GatedConv(hidden, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1_downsample(x))


class _Up(nn.Module):
    """x2 upsampling gated conv, then a stride-1 one."""

    def __init__(self, cin: int, cout: int, hidden: int) -> None:
        super().__init__()
        self.conv1_upsample = _Upsample(cin, hidden)
        self.conv2 = GatedConv(hidden, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1_upsample(x))


def _run(module: nn.Module, names: list[str], x: torch.Tensor) -> torch.Tensor:
    for name in names:
        x = getattr(module, name)(x)
    return x


class CoarseNet(nn.Module):
    """Stage 1: encoder, dilated bottleneck (rates 1-16), decoder, tanh RGB in [-1, 1]."""

    def __init__(self, cin: int = 5, cnum: int = 48) -> None:
        super().__init__()
        self.conv1 = GatedConv(cin, cnum // 2, ksize=5)
        self.down_block1 = _Down(cnum // 2, cnum, cnum)
        self.down_block2 = _Down(cnum, 2 * cnum, 2 * cnum)
        for i, rate in enumerate((1, 2, 4, 8, 16, 1, 1), start=1):
            setattr(self, f"conv_bn{i}", GatedConv(2 * cnum, 2 * cnum, dilation=rate))
        self.up_block1 = _Up(2 * cnum, cnum, cnum)
        self.up_block2 = _Up(cnum, cnum // 4, cnum // 2)
        self.conv_to_rgb = GatedConv(cnum // 4, 3, gated=False)
        self.layers = ["conv1", "down_block1", "down_block2", *(f"conv_bn{i}" for i in range(1, 8)),
                       "up_block1", "up_block2", "conv_to_rgb"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(_run(self, self.layers, x))


class ContextualAttention(nn.Module):
    """Fill hole features with a softmax-weighted mix of known-region feature patches.

    Matching: cosine similarity between 3x3 patches of the foreground and of the background at
    half resolution (``rate`` 2), masked to background patches that are entirely known; ``fuse``
    sums scores along both spatial diagonals so coherent neighbouring matches win (the paper's
    "attention propagation"); softmax with ``softmax_scale``. Reconstruction pastes the matched
    4x4 full-resolution patches back (a transposed convolution, done here as matmul + fold so
    the whole batch runs at once, each sample with its own mask).
    """

    def __init__(self, ksize: int = 3, rate: int = 2, fuse_k: int = 3, softmax_scale: float = 10.0,
                 n_down: int = 2) -> None:
        super().__init__()
        self.ksize, self.rate, self.fuse_k, self.scale, self.n_down = ksize, rate, fuse_k, softmax_scale, n_down
        self.register_buffer("fuse_weight", torch.eye(fuse_k).view(1, 1, fuse_k, fuse_k))

    def _fuse(self, scores: torch.Tensor, bh: int, bw: int, fh: int, fw: int) -> torch.Tensor:
        """Diagonal 3x3 sum over (background, foreground) pairs, in row-major then column-major order."""
        n = scores.shape[0]
        pad = (self.fuse_k - 1) // 2
        y = F.conv2d(scores.reshape(n, 1, bh * bw, fh * fw), self.fuse_weight, padding=pad)
        y = y.view(n, bh, bw, fh, fw).permute(0, 2, 1, 4, 3).reshape(n, 1, bh * bw, fh * fw)
        y = F.conv2d(y, self.fuse_weight, padding=pad)
        return y.view(n, bw, bh, fw, fh).permute(0, 2, 1, 4, 3).reshape(n, bh * bw, fh * fw)

    def forward(self, f: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``f``, ``b``: features (N, C, H, W); ``mask``: (N, 1, H * 2**n_down, W * 2**n_down), 1 = hole."""
        n, c, h, w = b.shape
        k, r = self.ksize, self.rate
        raw = F.unfold(b, 2 * r, padding=(2 * r - 1) // 2, stride=r)  # (N, C*16, L) full-res patches
        fs = F.interpolate(f, scale_factor=1 / r, mode="nearest")
        bs = F.interpolate(b, scale_factor=1 / r, mode="nearest")
        fh, fw = fs.shape[2:]
        bh, bw = bs.shape[2:]
        patches = F.unfold(bs, k, padding=(k - 1) // 2).transpose(1, 2)  # (N, L, C*9)
        patches = patches / patches.norm(dim=2, keepdim=True).clamp_min(1e-4)
        scores = torch.bmm(patches, F.unfold(fs, k, padding=(k - 1) // 2))  # (N, L, fh*fw)
        if self.fuse_k:
            scores = self._fuse(scores, bh, bw, fh, fw)
        small = F.interpolate(mask.to(b.dtype), scale_factor=1 / (2 ** self.n_down * r), mode="nearest")
        known = (F.unfold(small, k, padding=(k - 1) // 2).mean(dim=1) == 0).to(b.dtype).unsqueeze(2)  # (N, L, 1)
        attn = torch.softmax(scores * known * self.scale, dim=1) * known
        out = F.fold(torch.bmm(raw, attn), (h, w), 2 * r, padding=(2 * r - 1) // 2, stride=r) / 4.0
        return out


class RefineNet(nn.Module):
    """Stage 2: a dilated-conv branch ("hallucination") and a contextual-attention branch, merged."""

    def __init__(self, cnum: int = 48) -> None:
        super().__init__()
        self.conv_conv1 = GatedConv(3, cnum // 2, ksize=5)
        self.conv_down_block1 = _Down(cnum // 2, cnum, cnum // 2)
        self.conv_down_block2 = _Down(cnum, 2 * cnum, cnum)
        for i, rate in enumerate((1, 2, 4, 8, 16), start=1):
            setattr(self, f"conv_conv_bn{i}", GatedConv(2 * cnum, 2 * cnum, dilation=rate))
        self.ca_conv1 = GatedConv(3, cnum // 2, ksize=5)
        self.ca_down_block1 = _Down(cnum // 2, cnum, cnum // 2)
        self.ca_down_block2 = _Down(cnum, 2 * cnum, 2 * cnum)
        self.ca_conv_bn1 = GatedConv(2 * cnum, 2 * cnum, act=nn.ReLU())
        self.contextual_attention = ContextualAttention()
        self.ca_conv_bn4 = GatedConv(2 * cnum, 2 * cnum)
        self.ca_conv_bn5 = GatedConv(2 * cnum, 2 * cnum)
        self.conv_bn6 = GatedConv(4 * cnum, 2 * cnum)
        self.conv_bn7 = GatedConv(2 * cnum, 2 * cnum)
        self.up_block1 = _Up(2 * cnum, cnum, cnum)
        self.up_block2 = _Up(cnum, cnum // 4, cnum // 2)
        self.conv_to_rgb = GatedConv(cnum // 4, 3, gated=False)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hallu = _run(self, ["conv_conv1", "conv_down_block1", "conv_down_block2",
                            *(f"conv_conv_bn{i}" for i in range(1, 6))], x)
        ca = _run(self, ["ca_conv1", "ca_down_block1", "ca_down_block2", "ca_conv_bn1"], x)
        ca = _run(self, ["ca_conv_bn4", "ca_conv_bn5"], self.contextual_attention(ca, ca, mask))
        y = _run(self, ["conv_bn6", "conv_bn7", "up_block1", "up_block2", "conv_to_rgb"], torch.cat([hallu, ca], 1))
        return torch.tanh(y)


class Generator(nn.Module):
    """Coarse-to-fine DeepFillv2 generator. Sides must be multiples of 8."""

    def __init__(self, cnum: int = 48) -> None:
        super().__init__()
        if cnum % 4:
            raise ValueError(f"cnum must be a multiple of 4, got {cnum}")
        self.cnum = cnum
        self.stage1 = CoarseNet(5, cnum)
        self.stage2 = RefineNet(cnum)

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``image`` (N, 3, H, W) in [-1, 1]; ``mask`` (N, 1, H, W), 1 = hole -> (coarse, refined).

        The input is the masked image, a ones channel (the original's sketch channel, unused)
        and the mask, as the published model was trained.
        """
        mask = mask.to(image.dtype)
        masked = image * (1 - mask)
        ones = torch.ones_like(mask)
        coarse = self.stage1(torch.cat([masked, ones, ones * mask], dim=1))
        refined = self.stage2(coarse * mask + masked, mask)
        return coarse, refined


class SNConv2d(nn.Conv2d):
    """Convolution with spectral normalisation (Miyato et al., ICLR 2018).

    The weight is divided by its largest singular value, estimated by one power iteration per
    training step on the persistent vector ``weight_u`` (the name the published checkpoint uses).
    Unlike ``torch.nn.utils.parametrizations.spectral_norm`` this keeps the plain
    ``weight``/``bias``/``weight_u`` keys, so discriminator checkpoints load as published.
    """

    def __init__(self, cin: int, cout: int, ksize: int, stride: int, padding: int) -> None:
        super().__init__(cin, cout, ksize, stride, padding)
        self.register_buffer("weight_u", F.normalize(torch.randn(cout, 1), dim=0))

    def sigma(self) -> torch.Tensor:
        """One power-iteration step's estimate of the weight's largest singular value (differentiable
        in the weight); the iteration vector is kept only in training mode."""
        w = self.weight.flatten(1)
        with torch.no_grad():
            v = F.normalize(w.t() @ self.weight_u, dim=0, eps=1e-12)
            u = F.normalize(w @ v, dim=0, eps=1e-12)
            if self.training:
                self.weight_u.copy_(u)
        return (u.t() @ w @ v).squeeze()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight / self.sigma(), self.bias, self.stride, self.padding)


class _DConv(nn.Module):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv_sn = SNConv2d(cin, cout, 5, 2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.conv_sn(x), 0.2)


class PatchDiscriminator(nn.Module):
    """SN-PatchGAN: six 5x5 stride-2 spectral-normalised convs; every output cell judges one patch.

    Input: RGB in [-1, 1] plus the mask channel; output flattened to (N, cells) for the hinge loss.
    """

    def __init__(self, cin: int = 4, cnum: int = 64) -> None:
        super().__init__()
        widths = [cin, cnum, 2 * cnum, 4 * cnum, 4 * cnum, 4 * cnum, 4 * cnum]
        for i in range(6):
            setattr(self, f"conv{i + 1}", _DConv(widths[i], widths[i + 1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _run(self, [f"conv{i}" for i in range(1, 7)], x).flatten(1)
