#!/usr/bin/python3
"""The PyTorch side of `netspec verify`: runs the module netspec emitted for a spec on netspec's images.

Usage: python3 netspec_verify.py MODEL.py STATE.pth INPUT.bin N C H W OUTPUT_NAMES_JSON RESULT.bin

The state dict is read with torch.load(weights_only=True); the input is N×C×H×W float32. Every named module's
first output is recorded by a forward hook, so that netspec can name the first layer where the targets part.
RESULT.bin holds the tensors back to back as float32; one JSON line on standard output indexes them.
"""
import importlib.util
import json
import sys

import torch


def main(module_path, state_path, input_path, n, c, h, w, output_names, result_path):
    spec = importlib.util.spec_from_file_location("netspec_verified_model", module_path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.create_model()
    model.load_state_dict(torch.load(state_path, weights_only=True))
    model.eval()
    with open(input_path, "rb") as file:
        images = torch.frombuffer(bytearray(file.read()), dtype=torch.float32).reshape(n, c, h, w)

    layers = {}

    def record(name):
        def hook(_module, _inputs, output):
            if isinstance(output, torch.Tensor) and name not in layers:
                layers[name] = output.detach().clone()

        return hook

    for name, child in model.named_modules():
        if name:
            child.register_forward_hook(record(name))
    with torch.no_grad():
        result = model(images)
    if isinstance(result, dict):
        outputs = {name: result[name] for name in output_names}
    elif isinstance(result, (tuple, list)):
        outputs = dict(zip(output_names, result))
    else:
        outputs = {output_names[0]: result}

    index, offset = [], 0
    with open(result_path, "wb") as file:
        for kind, tensors in (("output", outputs), ("layer", layers)):
            for name, tensor in tensors.items():
                data = tensor.detach().to(torch.float32).contiguous().numpy().tobytes()
                file.write(data)
                index.append({"kind": kind, "name": name, "shape": list(tensor.shape), "offset": offset})
                offset += len(data)
    print(json.dumps(index))


if __name__ == "__main__":
    args = sys.argv[1:]
    main(args[0], args[1], args[2], *map(int, args[3:7]), json.loads(args[7]), args[8])
