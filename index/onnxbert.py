"""The encoder layers of a `FastBert` in ONNX Runtime: the same forward pass, with the dense
layers' weights in int8 (the answer judge: dynamic quantisation, activations quantised per call,
about twice as fast as float32 numpy on a CPU with VNNI or AMX) or in float32 (the question's
embedding: the same vectors within 1e-5, tested, and faster than numpy, whose many small
operations cost more than the arithmetic on a dozen tokens).

The graph is built here from the numpy weights (`onnx.helper`, no torch, no export step), and
quantised with `onnxruntime.quantization.quantize_dynamic` for int8; the file is kept in the
cache folder under a name made from the weights' checked sha256 (or a hash of the layers), so
it is built once per model (the three newest files of a kind are kept); a damaged cache file is
rebuilt, and an unwritable cache folder means a build per process. Only the layers run in ONNX
Runtime: embeddings, pooling and the judge's heads stay in numpy (a few percent of the time).

Left out: quantising the attention products (activation by activation, float32 in the graph)
and any graph fusion beyond what ONNX Runtime does itself.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from pathlib import Path

import numpy as np

from .fastbert import FastBert

OPSET = 20  # Gelu with approximate="tanh"
_VERSION = "1"  # bump when the graph changes: cached files of another version are not reused


def _graph(model: FastBert, approximate: str):
    """The encoder layers as an ONNX model: inputs `x` [n, len, hidden] (the embeddings after their
    LayerNorm) and `bias` [n, 1, 1, len] (0, or float32's minimum on padding); output `y`, the last
    layer's states."""
    from onnx import TensorProto, helper, numpy_helper

    hidden, heads = model.dim, model.heads
    d = hidden // heads
    inits, nodes = [], []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.array(value, order="C"), name))  # (0-d stays 0-d)
        return name

    const("shape5", np.array([0, 0, 3, heads, d], dtype=np.int64))
    const("shape3", np.array([0, 0, hidden], dtype=np.int64))
    const("scale", np.array(1.0 / np.sqrt(d), dtype=np.float32))
    x = "x"
    for i, layer in enumerate(model.layers):
        p = f"l{i}_"

        def node(op, inputs, name, **attrs):
            nodes.append(helper.make_node(op, inputs, [p + name], name=p + name, **attrs))
            return p + name

        qkv = node("MatMul", [x, const(p + "qkv_w", layer.qkv_w)], "qkv_mm")
        qkv = node("Add", [qkv, const(p + "qkv_b", layer.qkv_b)], "qkv")
        qkv = node("Reshape", [qkv, "shape5"], "qkv5")
        qkv = node("Transpose", [qkv], "qkvT", perm=[2, 0, 3, 1, 4])  # [3, n, heads, len, d]
        q = node("Gather", [qkv, const(p + "i0", np.array(0, dtype=np.int64))], "q", axis=0)
        k = node("Gather", [qkv, const(p + "i1", np.array(1, dtype=np.int64))], "k", axis=0)
        v = node("Gather", [qkv, const(p + "i2", np.array(2, dtype=np.int64))], "v", axis=0)
        kt = node("Transpose", [k], "kT", perm=[0, 1, 3, 2])
        s = node("MatMul", [q, kt], "scores_mm")
        s = node("Mul", [s, "scale"], "scores_scaled")
        s = node("Add", [s, "bias"], "scores")
        a = node("Softmax", [s], "probs", axis=-1)
        c = node("MatMul", [a, v], "ctx_mm")
        c = node("Transpose", [c], "ctxT", perm=[0, 2, 1, 3])
        c = node("Reshape", [c, "shape3"], "ctx")
        h = node("MatMul", [c, const(p + "out_w", layer.out_w)], "out_mm")
        h = node("Add", [h, const(p + "out_b", layer.out_b)], "out")
        h = node("Add", [h, x], "res1")
        x1 = node("LayerNormalization", [h, const(p + "ln1_w", layer.ln1_w), const(p + "ln1_b", layer.ln1_b)],
                  "ln1", axis=-1, epsilon=model.eps)
        u = node("MatMul", [x1, const(p + "up_w", layer.up_w)], "up_mm")
        u = node("Add", [u, const(p + "up_b", layer.up_b)], "up")
        g = node("Gelu", [u], "gelu", approximate=approximate)
        h = node("MatMul", [g, const(p + "down_w", layer.down_w)], "down_mm")
        h = node("Add", [h, const(p + "down_b", layer.down_b)], "down")
        h = node("Add", [h, x1], "res2")
        x = node("LayerNormalization", [h, const(p + "ln2_w", layer.ln2_w), const(p + "ln2_b", layer.ln2_b)],
                 "ln2", axis=-1, epsilon=model.eps)
    nodes.append(helper.make_node("Identity", [x], ["y"], name="y"))
    graph = helper.make_graph(
        nodes, "encoder",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", "len", hidden]),
         helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["n", 1, 1, "len"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "len", hidden])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="assistant")


def fingerprint(model: FastBert) -> str:
    """sha256 over the layers' weights: what names a cached file when the caller has no checked
    digest of the weights to name it by."""
    h = hashlib.sha256()
    for layer in model.layers:
        for value in vars(layer).values():
            h.update(np.ascontiguousarray(value, dtype=np.float32).tobytes())
    return h.hexdigest()


_lock = threading.Lock()


def layers_file(model: FastBert, cache: Path, approximate: str, int8: bool, key: str | None = None) -> Path:
    """The ONNX file of `model`'s layers in `cache` (dense weights in int8, or float32), built
    atomically when missing. `key`: a checked digest of the weights the model was read from (the
    file is named by it), else `fingerprint(model)`."""
    shape = f"{_VERSION}:{approximate}:{model.heads}:{model.eps}:{len(model.layers)}:{key or fingerprint(model)}"
    path = cache / f"encoder-{'int8' if int8 else 'fp32'}-{hashlib.sha256(shape.encode()).hexdigest()[:32]}.onnx"
    with _lock:
        if path.is_file():
            return path
        import onnx

        cache.mkdir(parents=True, exist_ok=True)
        graph = _graph(model, approximate)
        with tempfile.TemporaryDirectory(dir=cache) as work:
            plain, quant = Path(work) / "plain.onnx", Path(work) / "int8.onnx"
            onnx.save(graph, str(plain))
            if int8:
                from onnxruntime.quantization import QuantType, quantize_dynamic

                dense = [n.name for n in graph.graph.node
                         if n.op_type == "MatMul" and not n.name.endswith(("scores_mm", "ctx_mm"))]
                quiet = logging.getLogger().level
                logging.getLogger().setLevel(logging.ERROR)  # its advice to pre-process is for other graphs
                try:
                    quantize_dynamic(str(plain), str(quant), weight_type=QuantType.QInt8, nodes_to_quantize=dense,
                                     per_channel=True, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
                finally:
                    logging.getLogger().setLevel(quiet)
                os.replace(quant, path)
            else:
                os.replace(plain, path)
        prune(cache, path)
    return path


KEEP = 3  # files of one kind kept in a cache folder (other models, other versions of the judge)


def prune(cache: Path, made: Path, keep: int = KEEP) -> list[Path]:
    """Delete all but the `keep` most recently built files of `made`'s kind (int8 or fp32) in `cache`,
    so retraining the judge or switching models does not pile up 10 MB files; returns what went.
    A file another process still uses is rebuilt by it on its next start (about a second)."""
    kind = made.name.split("-")[1]
    files = sorted(cache.glob(f"encoder-{kind}-*.onnx"), key=lambda f: f.stat().st_mtime, reverse=True)
    gone = []
    for f in files[keep:]:
        if f != made:
            try:
                f.unlink()
                gone.append(f)
            except OSError:
                pass
    return gone


class OnnxLayers:
    """Runs a `FastBert`'s encoder layers from their ONNX file; `run(x, bias)` is the numpy loop's
    drop-in. Safe to share between threads (ONNX Runtime's `run` is)."""

    @classmethod
    def for_model(cls, model: FastBert, cache: Path, approximate: str = "tanh", threads: int = 0, int8: bool = True,
                  key: str | None = None) -> "OnnxLayers":
        """The layers of `model` from their file in `cache` (see `layers_file`), built when missing
        and rebuilt once when the file there does not load (a damaged or truncated cache file)."""
        try:
            path = layers_file(model, cache, approximate, int8, key)
        except OSError:  # a cache folder that cannot be written: build for this process only
            with tempfile.TemporaryDirectory() as work:
                return cls(layers_file(model, Path(work), approximate, int8, key), threads)
        try:
            return cls(path, threads)
        except Exception:  # noqa: BLE001 - ONNX Runtime raises its own Fail/InvalidProtobuf types
            path.unlink(missing_ok=True)
            return cls(layers_file(model, cache, approximate, int8, key), threads)

    def __init__(self, path: Path, threads: int = 0):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def run(self, x: np.ndarray, bias: np.ndarray) -> np.ndarray:
        return self.session.run(["y"], {"x": np.ascontiguousarray(x, dtype=np.float32),
                                        "bias": np.ascontiguousarray(bias, dtype=np.float32)})[0]
