#!/usr/bin/python3
"""torch.save files for netspec's .pth reader tests, written by PyTorch itself, with what they hold.

Usage: /usr/bin/python3 test/support/torch-save-cases.py OUT_DIR MODEL_PY [SECTION ...]

SECTION is dtypes, model, resnet18, hostile or pickles; all of them when none is given.

MODEL_PY is the PyTorch module netspec generated for the tests' small spec. Every checkpoint is written in the
zip format (torch.save's default since PyTorch 1.6) and, as NAME-legacy.pth, in the legacy one. Beside them:
- expected.json: for each tensor of dtypes.pth, its dtype, shape and values converted to float32 by PyTorch
  (as hex of little-endian bytes), which a reader must reproduce bit for bit;
- *.safetensors: the same state dicts in safetensors, written here by hand (the format is a JSON header and
  raw bytes), in each tensor's own dtype;
- hostile/*.pth: checkpoints whose pickles would run code in an unrestricted unpickler: each would create a
  marker file in OUT_DIR/markers if anything executed it;
- pickles.json: one data structure pickled with each protocol 0 to 5, and its value in a JSON form.
Needs Debian's python3-torch and python3-torchvision.
"""
import builtins
import collections
import importlib.util
import json
import os
import pickle
import struct
import sys
from pathlib import Path

import torch
import torchvision

SAFETENSORS_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64"}


def raw_bytes(tensor):
    tensor = tensor.detach().contiguous()
    # numpy has no bfloat16: its bits are those of an int16 view.
    return (tensor.view(torch.int16) if tensor.dtype == torch.bfloat16 else tensor).numpy().tobytes()


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        data = raw_bytes(tensor)
        header[name] = {"dtype": SAFETENSORS_DTYPES[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))


def save_both(obj, out, name, **options):
    torch.save(obj, out / f"{name}.pth", **options)
    torch.save(obj, out / f"{name}-legacy.pth", _use_new_zipfile_serialization=False, **options)


def dtype_cases():
    """Every dtype the reader takes, views of shared storages, non-contiguous tensors, a scalar and an empty tensor."""
    torch.manual_seed(7)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 8 - 1
    half = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 2.0**-24, 2.0**-14, float("inf"), float("-inf"), float("nan"), 0.1], dtype=torch.float16)
    bfloat = (torch.randn(3, 5) * 1000).to(torch.bfloat16)
    bfloat[0, 0] = float("inf")
    double = torch.tensor([[1.0 + 2.0**-30, -1e-40, 1e300], [3.141592653589793, -0.0, 2.0**-149]], dtype=torch.float64)
    cases = collections.OrderedDict(
        float32=torch.randn(3, 4),
        float16=half,
        bfloat16=bfloat,
        float64=double,
        int64=torch.tensor([0, -1, 2**62, -(2**63)], dtype=torch.int64),
        int32=torch.tensor([[1, -2], [3, 2**31 - 1]], dtype=torch.int32),
        int16=torch.tensor([-32768, 7], dtype=torch.int16),
        int8=torch.tensor([-128, 127, 0], dtype=torch.int8),
        uint8=torch.tensor([0, 255], dtype=torch.uint8),
        bool=torch.tensor([True, False, True]),
        # Views of one storage: the whole of it, rows at an offset, a transpose, every other column, one row.
        shared=base,
        rows=base[1:3],
        transposed=base.t(),
        columns=base[:, 1::2],
        row=base[2],
        # A broadcast: three values read with stride 0 down four rows.
        expanded=torch.tensor([1.5, -2.0, 4.0]).expand(4, 3),
        half_transposed=torch.randn(3, 2).to(torch.float16).t(),
        permuted=torch.randn(2, 3, 4, 5).permute(0, 2, 3, 1),
        scalar=torch.tensor(3.25),
        empty=torch.zeros(0, 3),
    )
    return cases


def write_dtypes(out):
    cases = dtype_cases()
    save_both(cases, out, "dtypes")
    expected = {}
    for name, tensor in cases.items():
        entry = {"dtype": str(tensor.dtype).replace("torch.", ""), "shape": list(tensor.shape)}
        if tensor.is_floating_point():
            entry["float32"] = tensor.to(torch.float32).contiguous().numpy().tobytes().hex()
        expected[name] = entry
    (out / "expected.json").write_text(json.dumps(expected))
    write_safetensors(out / "dtypes.safetensors", {name: t for name, t in cases.items() if t.dtype in SAFETENSORS_DTYPES and t.dtype != torch.int64})


def load_module(path):
    spec = importlib.util.spec_from_file_location("tiny_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def randomise(model, seed):
    """Every parameter and BatchNorm statistic drawn afresh, so that nothing is at its initial value."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if tensor.is_floating_point():
                values = torch.rand(tensor.shape, generator=generator)
                tensor.copy_(values + 0.5 if name.endswith("running_var") else values - 0.5)


def write_model_cases(out, module_path):
    module = load_module(module_path)
    model = module.create_model()
    randomise(model, 1)
    state = collections.OrderedDict((name, tensor.clone()) for name, tensor in model.state_dict().items())
    save_both(state, out, "model")
    write_safetensors(out / "model.safetensors", state)
    torch.save(state, out / "model-protocol4.pth", pickle_protocol=4)
    # DistributedDataParallel and DataParallel prefix every name with module.
    save_both(torch.nn.DataParallel(model).state_dict(), out, "ddp")
    # timm-like: a state dict beside another dict of tensors that does not fit the model, and plain entries.
    save_both({"arch": "tiny", "state_dict": state, "head_init": {"fc.weight": torch.zeros(2, 2)}, "best_metric": 71.5, "args": {"lr": 0.1}}, out, "nested-state-dict")
    # Two state dicts that both fit: the weights and their exponential moving average.
    ema = collections.OrderedDict((name, tensor * 0.5 if tensor.is_floating_point() else tensor) for name, tensor in state.items())
    save_both({"state_dict": state, "state_dict_ema": ema, "epoch": 1}, out, "ema")
    write_safetensors(out / "ema.safetensors", ema)

    # A training checkpoint: the weights under "model", beside an optimiser with momentum buffers and the epoch.
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model.train()
    model(torch.randn(2, *module.INPUT_SHAPE)).sum().backward()
    optimizer.step()
    model.eval()
    trained = model.state_dict()
    save_both({"epoch": 3, "model": trained, "optimizer": optimizer.state_dict()}, out, "nested-model")
    write_safetensors(out / "nested-model.safetensors", trained)


def write_resnet18(out):
    torch.manual_seed(18)
    model = torchvision.models.resnet18()
    randomise(model, 18)
    save_both(model.state_dict(), out, "resnet18")
    write_safetensors(out / "resnet18.safetensors", model.state_dict())


class Payload:
    """An object that pickles as a call: what an unrestricted unpickler would run."""

    def __init__(self, call, argument):
        self.call, self.argument = call, argument

    def __reduce__(self):
        return (self.call, (self.argument,))


def write_hostile(out):
    hostile, markers = out / "hostile", out / "markers"
    hostile.mkdir()
    markers.mkdir()
    weights = {"w": torch.ones(2)}

    def creates(name):
        return f"open({str(markers / name)!r}, 'w').close()"

    torch.save({**weights, "x": Payload(os.system, f"touch {markers / 'system'}")}, hostile / "system.pth")
    torch.save({**weights, "x": Payload(os.system, f"touch {markers / 'system-legacy'}")}, hostile / "system-legacy.pth", _use_new_zipfile_serialization=False)
    torch.save({**weights, "x": Payload(builtins.exec, creates("exec"))}, hostile / "exec.pth")
    # Protocol 4 names globals with STACK_GLOBAL.
    torch.save({**weights, "x": Payload(builtins.eval, creates("eval"))}, hostile / "eval-protocol4.pth", pickle_protocol=4)


def pickle_cases(out):
    """A structure of every plain kind, pickled with each protocol, and its value as JSON describes it."""
    value = {"ints": [0, 1, -1, 255, 256, 65535, 65536, -(2**31), 2**31, 2**70, -(2**70)], "floats": [1.5, -0.0, 1e300, float("inf")],
             "text": ["", "ünïcödé ✓", "a\nb\\c'\""], "none": None, "flags": (True, False), "nested": {"t": (1, (2, 3)), "l": [[]], "d": {1: "one"}},
             "shared": [[1, 2]] * 2}
    since3 = {"bytes": b"\x00\xffdata"}
    since4 = {"set": {3, 1, 2}, "frozen": frozenset({"a"})}

    def as_json(v):
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int):
            return v if abs(v) <= 2**53 - 1 else {"int": str(v)}
        if isinstance(v, float):
            return v if v == v and abs(v) != float("inf") else {"float": repr(v)}
        if isinstance(v, bytes):
            return {"bytes": v.hex()}
        if isinstance(v, tuple):
            return {"tuple": [as_json(x) for x in v]}
        if isinstance(v, list):
            return [as_json(x) for x in v]
        if isinstance(v, (set, frozenset)):
            return {"frozenset" if isinstance(v, frozenset) else "set": sorted(as_json(x) for x in v)}
        return {"dict": [[as_json(k), as_json(x)] for k, x in v.items()]}

    cases = []
    for protocol in range(6):
        # Before protocol 3, bytes pickle as a call of _codecs.encode, and sets before 4 as one of builtins.set.
        data = {**value, **(since3 if protocol >= 3 else {}), **(since4 if protocol >= 4 else {})}
        cases.append({"protocol": protocol, "pickle": pickle.dumps(data, protocol=protocol).hex(), "value": as_json(data)})
    (out / "pickles.json").write_text(json.dumps(cases))


def main():
    out, module_path = Path(sys.argv[1]), sys.argv[2]
    sections = {
        "dtypes": lambda: write_dtypes(out),
        "model": lambda: write_model_cases(out, module_path),
        "resnet18": lambda: write_resnet18(out),
        "hostile": lambda: write_hostile(out),
        "pickles": lambda: pickle_cases(out),
    }
    for name in sys.argv[3:] or sections:
        sections[name]()


if __name__ == "__main__":
    main()
