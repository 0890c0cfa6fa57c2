#!/usr/bin/python3
"""Outputs of netspec's generated PyTorch modules on weights and an input that a test wrote.

For each NAME: builds the module class of DIR/NAME.py, loads DIR/NAME.safetensors into it strictly, runs the
batch in DIR/input.safetensors (NCHW, tensor `input`) in eval mode, and writes each output to
DIR/NAME.outputs.safetensors. Prints one JSON line per module: its state-dict names and shapes.

Usage: /usr/bin/python3 scripts/pytorch-outputs.py DIR NAME ...
"""
import importlib.util
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))
from netspec_torch_train import read_safetensors, write_safetensors  # noqa: E402


def run(folder, name, x):
    spec = importlib.util.spec_from_file_location(f"generated_{name}", folder / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.create_model()
    weights, _ = read_safetensors(folder / f"{name}.safetensors")
    # BatchNorm's batch counter is state netspec does not carry; the model keeps its own.
    counters = {key: value for key, value in model.state_dict().items() if key.endswith("num_batches_tracked")}
    model.load_state_dict({**weights, **counters}, strict=True)
    model.eval()
    with torch.no_grad():
        y = model(x)
    outputs = y if isinstance(y, dict) else {"output": y}
    write_safetensors(folder / f"{name}.outputs.safetensors", {key: value.contiguous() for key, value in outputs.items()})
    state = [f"{key} {'×'.join(str(d) for d in value.shape)}" for key, value in model.state_dict().items() if not key.endswith("num_batches_tracked")]
    return {"name": name, "state_dict": state}


def main():
    torch.set_num_threads(2)
    folder = Path(sys.argv[1])
    x = read_safetensors(folder / "input.safetensors")[0]["input"]
    for name in sys.argv[2:]:
        print(json.dumps(run(folder, name, x)), flush=True)


if __name__ == "__main__":
    main()
