#!/usr/bin/python3
"""PyTorch's side of bench/inference.ts: eager-mode latency of a model on 2 threads, and its own ONNX export.

Usage: /usr/bin/python3 bench/pytorch-bench.py WEIGHTS.safetensors MODEL SIZE BATCHES RUNS OUT.onnx
Loads the state dict the netspec side imports too (so both run the same weights), times eval-mode inference
for each batch size, writes torch.onnx.export's model (opset 17, dynamic batch) and prints one JSON object
with the times in seconds and the process's peak resident memory.
"""
import json
import resource
import statistics
import struct
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/scripts")
from importlib import import_module

reference = import_module("pytorch-reference")


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


def main():
    weights, name, size, batches, runs, onnx_path = sys.argv[1:7]
    size, runs = int(size), int(runs)
    batches = [int(b) for b in batches.split(",")]
    torch.set_num_threads(2)
    build, _ = reference.MODELS[name]
    model = build()
    model.load_state_dict(read_safetensors(weights))
    model.eval()
    results = {"torch": torch.__version__, "torchvision": torchvision.__version__, "eager": {}}
    with torch.no_grad():
        for batch in batches:
            x = torch.randn(batch, 3, size, size)
            for _ in range(2):
                model(x)
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                model(x)
                times.append(time.perf_counter() - start)
            results["eager"][batch] = times
        torch.onnx.export(
            model, torch.randn(1, 3, size, size), onnx_path, opset_version=17,
            input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
        )
    results["peakMiB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(results))


if __name__ == "__main__":
    main()
