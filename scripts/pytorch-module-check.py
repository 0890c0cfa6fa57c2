#!/usr/bin/python3
"""What netspec's generated PyTorch modules hold, for the tests to compare with the compiler's analysis.

For each module file: its class built by create_model() (seeded), the count of its parameters and of its
BatchNorm running statistics, every state-dict tensor's name and shape with summary statistics of its initial
values, and the shape of each output for one zero image in eval mode (for an open size, at its smallest side). One JSON object per line on stdout.

Usage: /usr/bin/python3 scripts/pytorch-module-check.py MODULE.py ...
"""
import importlib.util
import json
import sys

import torch


def load(path):
    spec = importlib.util.spec_from_file_location("generated_module", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def statistics(tensor):
    values = tensor.detach().double().flatten()
    if values.numel() == 0:
        return {}
    return {
        "min": values.min().item(),
        "max": values.max().item(),
        "mean": values.mean().item(),
        "std": values.std(unbiased=False).item(),
    }


def describe(path):
    module = load(path)
    torch.manual_seed(0)
    model = module.create_model()
    running = [t for name, t in model.state_dict().items() if name.endswith(("running_mean", "running_var"))]
    tensors = [
        {"name": name, "shape": list(t.shape), **statistics(t)}
        for name, t in model.state_dict().items()
        if not name.endswith("num_batches_tracked")
    ]
    model.eval()
    if hasattr(module, "SIZES"):
        # An open size: its smallest side, and the next for the width, against output_shapes() of that size.
        height = module.SIZES["minimum"]
        width = min(module.SIZES["maximum"], height + module.SIZES["multiple"])
        shape, declared = (module.INPUT_CHANNELS, height, width), module.output_shapes(height, width)
    else:
        shape, declared = module.INPUT_SHAPE, module.OUTPUT_SHAPES
    with torch.no_grad():
        y = model(torch.zeros(1, *shape))
    outputs = {key: list(value.shape[1:]) for key, value in (y.items() if isinstance(y, dict) else [("output", y)])}
    return {
        "path": path,
        "trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "nonTrainable": sum(t.numel() for t in running),
        "declared": module.PARAMS,
        "outputs": outputs,
        "declaredOutputs": {key: list(value) for key, value in declared.items()},
        "tensors": tensors,
    }


def main():
    torch.set_num_threads(2)
    for path in sys.argv[1:]:
        print(json.dumps(describe(path)), flush=True)


if __name__ == "__main__":
    main()
