#!/usr/bin/python3
"""PyTorch's side of bench/inference.ts: eager-mode inference on 2 threads as a timing peer, and its own ONNX export.

Usage: /usr/bin/python3 bench/pytorch-bench.py serve WEIGHTS.safetensors MODEL SIZE BATCH LAYOUT
       /usr/bin/python3 bench/pytorch-bench.py export WEIGHTS.safetensors MODEL SIZE OUT.onnx
Both load the state dict the netspec side imports too, so every runner has the same weights. `serve` times
inference-mode calls at one batch size through bench/peer.py's protocol, in NCHW (LAYOUT contiguous) or NHWC
(channels_last, often the faster on CPUs); `export` writes torch.onnx.export's model (opset 17, dynamic batch)
and prints the PyTorch and torchvision versions as JSON.
"""
import json
import struct
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/scripts")
from importlib import import_module

reference = import_module("pytorch-reference")
sys.path.insert(0, __file__.rsplit("/", 1)[0])
import peer  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = {"F32": np.float32, "I64": np.int64}[entry["dtype"]]
        array = np.frombuffer(data[8 + length + begin : 8 + length + end], dtype=dtype).reshape(entry["shape"])
        tensors[name] = torch.from_numpy(array.copy())
    return tensors


def load(weights, name):
    build, _ = reference.MODELS[name]
    model = build()
    model.load_state_dict(read_safetensors(weights))
    return model.eval()


def serve(weights, name, size, batch, layout):
    torch.set_num_threads(2)
    model = load(weights, name)
    x = torch.randn(int(batch), 3, int(size), int(size))
    if layout == "channels_last":
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        peer.serve(lambda: model(x), warmups=2)


def export(weights, name, size, onnx_path):
    model = load(weights, name)
    with torch.no_grad():
        torch.onnx.export(
            model, torch.randn(1, 3, int(size), int(size)), onnx_path, opset_version=17,
            input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        )
    print(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__}))


if __name__ == "__main__":
    {"serve": serve, "export": export}[sys.argv[1]](*sys.argv[2:])
