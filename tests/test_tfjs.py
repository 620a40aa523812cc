"""The TF.js graph executor against hand-built graphs, and NanoDet against TensorFlow.js itself."""

from __future__ import annotations

import base64
import gc
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vidinpaint.tfjs import GraphModel

FIXTURE = Path(__file__).parent / "fixtures" / "nanodet_vtest0.npz"


def attr_s(text):
    return {"s": base64.b64encode(text.encode()).decode()}


def write_graph(folder: Path, nodes: list[dict], weights: dict[str, np.ndarray], outputs: list[str]) -> Path:
    """A graph-model folder with float16-quantised float weights and int32 constants."""
    manifest, blobs = [], []
    for name, value in weights.items():
        if value.dtype == np.float32:
            manifest.append({"name": name, "shape": list(value.shape), "dtype": "float32",
                             "quantization": {"dtype": "float16", "original_dtype": "float32"}})
            blobs.append(value.astype(np.float16).tobytes())
        else:
            manifest.append({"name": name, "shape": list(value.shape), "dtype": "int32"})
            blobs.append(value.astype(np.int32).tobytes())
    (folder / "w.bin").write_bytes(b"".join(blobs))
    spec = {"format": "graph-model", "modelTopology": {"node": nodes},
            "signature": {"outputs": {f"{o}:0": {"name": f"{o}:0"} for o in outputs}},
            "weightsManifest": [{"paths": ["w.bin"], "weights": manifest}]}
    (folder / "model.json").write_text(json.dumps(spec))
    return folder / "model.json"


def const(name):
    return {"name": name, "op": "Const"}


def test_conv_same_padding_leaky_relu_and_split_match_torch(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 3, 4, 6)).astype(np.float32)
    bias = rng.normal(size=(6,)).astype(np.float32)
    nodes = [
        {"name": "x", "op": "Placeholder"}, const("w"), const("b"), const("sizes"), const("axis"),
        {"name": "conv", "op": "Conv2D", "input": ["x", "w"],
         "attr": {"padding": attr_s("SAME"), "strides": {"list": {"i": ["1", "2", "2", "1"]}},
                  "data_format": attr_s("NHWC")}},
        {"name": "add", "op": "Add", "input": ["conv", "b"]},
        {"name": "act", "op": "LeakyRelu", "input": ["add"], "attr": {"alpha": {"f": 0.1}}},
        {"name": "parts", "op": "SplitV", "input": ["act", "sizes", "axis"]},
        {"name": "second", "op": "Sigmoid", "input": ["parts:1"]},
    ]
    model = GraphModel(write_graph(tmp_path, nodes, {"w": w, "b": bias, "sizes": np.array([2, 4]),
                                                     "axis": np.array(3)}, ["second"]))
    x = torch.from_numpy(rng.normal(size=(1, 9, 9, 4)).astype(np.float32))
    out = model(x)["second"]
    # torch reference: TF SAME with stride 2 on 9 px pads 1 before and 1 after
    w16 = torch.from_numpy(w.astype(np.float16).astype(np.float32)).permute(3, 2, 0, 1)
    b16 = torch.from_numpy(bias.astype(np.float16).astype(np.float32))
    ref = F.leaky_relu(F.conv2d(F.pad(x.permute(0, 3, 1, 2), (1, 1, 1, 1)), w16, b16, stride=2), 0.1)
    ref = torch.sigmoid(ref.permute(0, 2, 3, 1)[..., 2:])
    assert out.shape == (1, 5, 5, 4)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    # the bias went into the conv and the activation overwrites the conv's own output
    assert model.nodes["add"]["op"] == "Identity" and model.nodes["conv"]["input"][-1] == "b"
    assert model.nodes["act"].get("_vidinpaint_in_place")


def test_a_fused_conv_and_a_peak_gathered_from_a_heatmap_match_torch(tmp_path):
    """MoveNet's ops without its weights: a conv with bias and Relu6 fused in, then the argmax of
    one channel's map, its row and column (FloorDiv), and the other channel gathered there."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 3, 3, 2)).astype(np.float32)
    bias = rng.normal(size=(2,)).astype(np.float32)
    fused = {"padding": attr_s("SAME"), "strides": {"list": {"i": ["1", "1", "1", "1"]}},
             "fused_ops": {"list": {"s": [attr_s("BiasAdd")["s"], attr_s("Relu6")["s"]]}}, "num_args": {"i": "1"}}
    nodes = [
        {"name": "x", "op": "Placeholder"}, const("w"), const("b"), const("shape"), const("dim"), const("six"),
        const("zero"),
        {"name": "xf", "op": "Cast", "input": ["x"], "attr": {"DstT": {"type": "DT_FLOAT"}}},
        {"name": "conv", "op": "_FusedConv2D", "input": ["xf", "w", "b"], "attr": fused},
        {"name": "maps", "op": "Unpack", "input": ["conv"], "attr": {"axis": {"i": "3"}, "num": {"i": "2"}}},
        {"name": "flat", "op": "Reshape", "input": ["maps", "shape"]},
        {"name": "peak", "op": "ArgMax", "input": ["flat", "dim"], "attr": {"output_type": {"type": "DT_INT32"}}},
        {"name": "row", "op": "FloorDiv", "input": ["peak", "six"]},
        {"name": "col", "op": "Sub", "input": ["peak", "x6"]},
        {"name": "x6", "op": "Mul", "input": ["row", "six"]},
        {"name": "at", "op": "Pack", "input": ["zero", "row", "col"], "attr": {"axis": {"i": "1"}}},
        {"name": "other", "op": "GatherNd", "input": ["maps:1", "at"]},
    ]
    model = GraphModel(write_graph(tmp_path, nodes, {"w": w, "b": bias, "shape": np.array([1, 36]),
                                                     "dim": np.array(1), "six": np.array([6]),
                                                     "zero": np.array([0])}, ["other", "row", "col"]))
    x = torch.from_numpy(rng.integers(0, 4, size=(1, 6, 6, 3)).astype(np.int32))
    out = model(x)
    w16 = torch.from_numpy(w.astype(np.float16).astype(np.float32)).permute(3, 2, 0, 1)
    b16 = torch.from_numpy(bias.astype(np.float16).astype(np.float32))
    ref = F.conv2d(F.pad(x.permute(0, 3, 1, 2).float(), (1, 1, 1, 1)), w16, b16).clamp(0, 6)[0]
    row, col = divmod(int(ref[0].argmax()), 6)
    assert (int(out["row"]), int(out["col"])) == (row, col)
    torch.testing.assert_close(out["other"], ref[1, row, col].reshape(1), atol=1e-5, rtol=1e-5)
    # on another device than the CPU, where the integer constants stay (as on CUDA: shapes, axes)
    assert model.to("meta")(x.to("meta"))["other"].shape == (1,)


def test_an_activation_whose_input_is_read_elsewhere_is_not_done_in_place(tmp_path):
    """``skip`` reads the conv's biased output after the activation ran: overwriting it in place
    would change the sum."""
    rng = np.random.default_rng(2)
    w, bias = rng.normal(size=(1, 1, 3, 3)).astype(np.float32), rng.normal(size=(3,)).astype(np.float32)
    conv_attr = {"padding": attr_s("VALID"), "strides": {"list": {"i": ["1", "1", "1", "1"]}}}
    nodes = [
        {"name": "x", "op": "Placeholder"}, const("w"), const("b"),
        {"name": "conv", "op": "Conv2D", "input": ["x", "w"], "attr": conv_attr},
        {"name": "add", "op": "Add", "input": ["conv", "b"]},
        {"name": "act", "op": "LeakyRelu", "input": ["add"], "attr": {"alpha": {"f": 0.1}}},
        {"name": "skip", "op": "AddV2", "input": ["act", "add"]},
    ]
    model = GraphModel(write_graph(tmp_path, nodes, {"w": w, "b": bias}, ["skip"]))
    assert not model.nodes["act"].get("_vidinpaint_in_place")
    x = torch.from_numpy(rng.normal(size=(1, 4, 4, 3)).astype(np.float32))
    w16 = torch.from_numpy(w.astype(np.float16).astype(np.float32)).permute(3, 2, 0, 1)
    pre = F.conv2d(x.permute(0, 3, 1, 2), w16, torch.from_numpy(bias.astype(np.float16).astype(np.float32)))
    ref = (F.leaky_relu(pre, 0.1) + pre).permute(0, 2, 3, 1)
    torch.testing.assert_close(model(x)["skip"], ref, atol=1e-5, rtol=1e-5)


def test_an_output_keeps_its_value_when_a_reader_could_be_folded_into_it(tmp_path):
    """A conv that is itself an output does not take over the bias added after it."""
    rng = np.random.default_rng(3)
    w, bias = rng.normal(size=(1, 1, 2, 2)).astype(np.float32), rng.normal(size=(2,)).astype(np.float32)
    nodes = [
        {"name": "x", "op": "Placeholder"}, const("w"), const("b"),
        {"name": "conv", "op": "Conv2D", "input": ["x", "w"],
         "attr": {"padding": attr_s("VALID"), "strides": {"list": {"i": ["1", "1", "1", "1"]}}}},
        {"name": "add", "op": "Add", "input": ["conv:0", "b"]},
    ]
    model = GraphModel(write_graph(tmp_path, nodes, {"w": w, "b": bias}, ["conv", "add"]))
    assert model.nodes["add"]["op"] == "Add"
    x = torch.from_numpy(rng.normal(size=(1, 3, 3, 2)).astype(np.float32))
    out = model(x)
    b16 = torch.from_numpy(bias.astype(np.float16).astype(np.float32))
    torch.testing.assert_close(out["add"], out["conv"] + b16)
    assert out["conv"].shape == (1, 3, 3, 2)  # "conv:0" read as the whole tensor


def test_a_minus_infinity_pad_before_a_max_pool_is_folded_into_it_with_the_same_result(tmp_path):
    """NanoDet's stem: PadV2 with -inf in NCHW, Transpose to NHWC, VALID 3x3/2 MaxPool."""
    pads = [[0, 0], [0, 0], [1, 1], [1, 1]]
    nodes = [
        {"name": "x", "op": "Placeholder"}, const("pads"), const("inf"), const("perm"),
        {"name": "pad", "op": "PadV2", "input": ["x", "pads", "inf"]},
        {"name": "nhwc", "op": "Transpose", "input": ["pad", "perm"]},
        {"name": "pool", "op": "MaxPool", "input": ["nhwc"],
         "attr": {"padding": attr_s("VALID"), "ksize": {"list": {"i": ["1", "3", "3", "1"]}},
                  "strides": {"list": {"i": ["1", "2", "2", "1"]}}}},
    ]
    model = GraphModel(write_graph(tmp_path, nodes, {"pads": np.array(pads), "inf": np.array(-np.inf, np.float32),
                                                     "perm": np.array([0, 2, 3, 1])}, ["pool"]))
    assert model.nodes["pool"].get("_vidinpaint_pad") == (1, 1)
    x = -torch.rand(1, 2, 8, 10) - 1  # all negative: a zero pad would show in the borders
    ref = F.max_pool2d(F.pad(x, (1, 1, 1, 1), value=-math.inf), 3, 2).permute(0, 2, 3, 1)
    torch.testing.assert_close(model(x)["pool"], ref)


@pytest.mark.parametrize("pads, folded", [([[0, 0], [0, 0], [1, 1], [2, 2]], True),
                                          ([[0, 0], [0, 0], [0, 1], [0, 1]], False)])
def test_a_zero_pad_before_a_conv_is_folded_into_it_with_the_same_result(tmp_path, pads, folded):
    """As converters from ONNX write it: Pad in NCHW, Transpose to NHWC, VALID Conv2D."""
    rng = np.random.default_rng(1)
    w = rng.normal(size=(3, 5, 4, 6)).astype(np.float32)
    nodes = [
        {"name": "x", "op": "Placeholder"}, const("pads"), const("perm"), const("w"),
        {"name": "pad", "op": "Pad", "input": ["x", "pads"]},
        {"name": "nhwc", "op": "Transpose", "input": ["pad", "perm"]},
        {"name": "conv", "op": "Conv2D", "input": ["nhwc", "w"],
         "attr": {"padding": attr_s("VALID"), "strides": {"list": {"i": ["1", "1", "1", "1"]}}}},
    ]
    model = GraphModel(write_graph(tmp_path, nodes, {"pads": np.array(pads), "perm": np.array([0, 2, 3, 1]),
                                                     "w": w}, ["conv"]))
    assert ("_vidinpaint_pad" in model.nodes["conv"]) == folded
    x = torch.from_numpy(rng.normal(size=(1, 4, 9, 11)).astype(np.float32))  # NCHW, as the graph's input
    (top, bottom), (left, right) = pads[2], pads[3]
    w16 = torch.from_numpy(w.astype(np.float16).astype(np.float32)).permute(3, 2, 0, 1)
    ref = F.conv2d(F.pad(x, (left, right, top, bottom)), w16).permute(0, 2, 3, 1)
    torch.testing.assert_close(model(x)["conv"], ref, atol=1e-4, rtol=1e-4)


def test_activations_are_freed_when_the_call_returns(tmp_path):
    """A call must leave no reference cycle behind: the cycle collector runs rarely, and until it
    does every activation of the call stays in memory (NanoDet: ~100 MB a frame)."""
    nodes = [{"name": "x", "op": "Placeholder"}, {"name": "a", "op": "Sigmoid", "input": ["x"]},
             {"name": "b", "op": "Relu", "input": ["a"]}, {"name": "c", "op": "Sigmoid", "input": ["b"]}]
    model = GraphModel(write_graph(tmp_path, nodes, {}, ["c"]))
    x = torch.ones(1, 4, 4, 2)
    gc.collect()
    gc.disable()
    try:
        out = model(x)["c"]
        assert gc.collect() == 0  # nothing unreachable: everything was freed by reference counting
    finally:
        gc.enable()
    assert out.shape == x.shape


def test_each_value_is_freed_after_its_last_reader(tmp_path):
    """A call holds only the values later nodes still read, and never frees an output."""
    nodes = [{"name": "x", "op": "Placeholder"}, {"name": "a", "op": "Sigmoid", "input": ["x"]},
             {"name": "b", "op": "Relu", "input": ["a"]}, {"name": "c", "op": "AddV2", "input": ["a", "b"]},
             {"name": "d", "op": "Sigmoid", "input": ["c"]}, {"name": "e", "op": "Relu", "input": ["d"]}]
    model = GraphModel(write_graph(tmp_path, nodes, {}, ["d", "e"]))
    assert [(name, sorted(free)) for name, _, free in model.schedule] == \
        [("a", ["x"]), ("b", []), ("c", ["a", "b"]), ("d", ["c"]), ("e", [])]
    x = torch.randn(1, 2, 2, 3)
    out = model(x)
    torch.testing.assert_close(out["d"], torch.sigmoid(torch.sigmoid(x) + torch.relu(torch.sigmoid(x))))
    torch.testing.assert_close(out["e"], torch.relu(out["d"]))


def test_unknown_ops_are_named(tmp_path):
    nodes = [{"name": "x", "op": "Placeholder"}, {"name": "y", "op": "FancyOp", "input": ["x"]}]
    with pytest.raises(NotImplementedError, match="FancyOp"):
        GraphModel(write_graph(tmp_path, nodes, {}, ["y"]))


def nanodet_json():
    from vidinpaint.weights import available, locate

    if not available("nanodet"):
        pytest.skip("NanoDet weights not fetched (make test fetches them)")
    return locate("nanodet")


@pytest.mark.weights
def test_nanodet_reproduces_tensorflow_js():
    from vidinpaint.detect.nanodet import preprocess_native, split_outputs

    ref = np.load(FIXTURE)
    model = GraphModel(nanodet_json()).eval()
    with torch.inference_mode():
        outputs = model(preprocess_native(ref["image_rgb"]))  # 416x416: nothing to pad
    best = 0.0
    for stride, cls, box in split_outputs(outputs):
        n = cls.shape[0]
        name_cls = next(k for k in ref.files if ref[k].ndim == 2 and ref[k].shape == (n, 1))
        name_box = next(k for k in ref.files if ref[k].ndim == 2 and ref[k].shape == (n, 44))
        np.testing.assert_allclose(cls[:, :1].numpy(), ref[name_cls], atol=2e-4)
        np.testing.assert_allclose(box.numpy(), ref[name_box], atol=2e-3, rtol=1e-3)
        best = max(best, float(ref[name_cls].max()))
    assert best > 0.5  # the fixture does contain confident people


@pytest.mark.weights
def test_nanodet_finds_the_pedestrians_in_vtest():
    from vidinpaint.detect.nanodet import NanoDet

    ref = np.load(FIXTURE)
    boxes, scores, classes = NanoDet(nanodet_json(), [0]).detect(ref["image_rgb"])
    assert len(boxes) >= 3 and (classes == 0).all() and (scores >= 0.4).all()
    heights = boxes[:, 3] - boxes[:, 1]
    assert ((heights > 20) & (heights < 150)).all()  # pedestrians, not the whole frame
