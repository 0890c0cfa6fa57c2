#!/usr/bin/python3
"""PyTorch reference data for netspec's open-size test: one model, several input sizes.

For each NAME=GENERATED.py: the model is torchvision's resnet18 (10 classes) when NAME is resnet18, else the module
netspec generated, built with a fixed seed. BatchNorm statistics and affine parameters are randomised as
dense-reference.py randomises them, so that eval-mode BatchNorm shapes the outputs. Writes the state dict as
<name>.safetensors and, for each HEIGHTxWIDTH, a batch of two images with the eval-mode outputs of the model and of
the generated module (loaded strictly with the same state dict) as <name>.<height>x<width>.safetensors: `input`,
each output by name, and `emitted.<output>`.

Usage: /usr/bin/python3 scripts/open-size-reference.py OUT_DIR HxW[,HxW...] NAME=GENERATED.py ...
"""
import importlib.util
import sys
from pathlib import Path

import torch
import torchvision

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))
from netspec_torch_train import write_safetensors  # noqa: E402

spec = importlib.util.spec_from_file_location("dense_reference", Path(__file__).resolve().parent / "dense-reference.py")
dense_reference = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dense_reference)


def generated(name, path):
    found = importlib.util.spec_from_file_location(f"generated_{name}", path)
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module.create_model()


def outputs(model, x):
    with torch.no_grad():
        y = model(x)
    return dict(y) if isinstance(y, dict) else {"output": y}


def main():
    out = Path(sys.argv[1])
    sizes = [tuple(int(n) for n in size.split("x")) for size in sys.argv[2].split(",")]
    torch.set_num_threads(2)
    for pair in sys.argv[3:]:
        name, path = pair.split("=", 1)
        torch.manual_seed(0)
        generator = torch.Generator().manual_seed(1)
        model = torchvision.models.resnet18(num_classes=10) if name == "resnet18" else generated(name, path)
        dense_reference.randomise(model, generator)
        model.eval()
        emitted = generated(name, path)
        emitted.load_state_dict(model.state_dict(), strict=True)
        emitted.eval()
        write_safetensors(out / f"{name}.safetensors", model.state_dict())
        for height, width in sizes:
            x = torch.randn(2, 3, height, width, generator=generator)
            reference = outputs(model, x)
            mine = {f"emitted.{key}": value for key, value in outputs(emitted, x).items()}
            write_safetensors(out / f"{name}.{height}x{width}.safetensors", {"input": x, **reference, **mine})
        print(f"{name}: " + ", ".join(f"{key} {list(value.shape)}" for key, value in reference.items()))


if __name__ == "__main__":
    main()
