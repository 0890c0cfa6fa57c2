#!/usr/bin/python3
"""PyTorch's side of bench/dense-train-step.ts: one training step of a detector or a segmenter, on request.

Usage: /usr/bin/python3 bench/pytorch-dense-step.py
Stays alive and reads one JSON command a line from standard input, answering each with one JSON line, so that
starting Python and importing torch are not timed:

  {"op": "load", "name": N, "module": PATH, "kind": "detection" | "segmentation", "format": "channels_last" |
   "contiguous", "batch": 8, "lr": 0.005, "clip": 10 | null, "seed": 0,
   detection: "anchors": [x1, y1, x2, y2, ...], "boxes": [[x1, y1, x2, y2, ...] per image], "labels": [[...] per image]
   segmentation: "masks": PATH of batch × H × W bytes (class, or 255 where not scored)}
      builds the network netspec emitted (the module at PATH, imported by path), its SGD optimiser and one batch
  {"op": "step", "name": N}
      one step on that batch: forward, the loss as torchvision computes it, backward, (clipping,) SGD update;
      answers {"seconds": wall, "cpu": processor seconds of the process, "loss": value}

Losses: RetinaNet.compute_loss (matching every step, as torchvision's RetinaNet does in training) on cls_logits
[N, A, K] and bbox_regression [N, A, 4] against the given anchors; for a segmenter the reference's
F.cross_entropy(out, masks, ignore_index=255) + 0.5 · the same of aux. SGD with momentum 0.9 and weight decay
1e-4 (netspec's dense recipe), BatchNorm in training mode. torch runs on 2 threads.
"""
import importlib.util
import json
import sys
import time
import types

import numpy
import torch
import torch.nn.functional as F
from torchvision.models.detection._utils import Matcher
from torchvision.models.detection.retinanet import RetinaNet, RetinaNetHead

torch.set_num_threads(2)
runs = {}


def load_module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(command):
    torch.manual_seed(command.get("seed", 0))
    module = load_module(command["module"], "netspec_bench_" + command["name"].replace("-", "_"))
    model = module.create_model().train()
    channels, height, width = module.INPUT_SHAPE
    batch = command["batch"]
    images = torch.randn(batch, channels, height, width)
    if command["format"] == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=command["lr"], momentum=0.9, weight_decay=1e-4)
    if command["kind"] == "detection":
        anchors = torch.tensor(command["anchors"], dtype=torch.float32).reshape(-1, 4)
        targets = [
            {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), "labels": torch.tensor(labels, dtype=torch.int64)}
            for boxes, labels in zip(command["boxes"], command["labels"])
        ]
        classes = module.OUTPUT_SHAPES["cls_logits"][1]
        # Only its compute_loss methods (and their box coder) are used, as RetinaNet.compute_loss calls them.
        owner = types.SimpleNamespace(head=RetinaNetHead(8, 1, classes), proposal_matcher=Matcher(0.5, 0.4, allow_low_quality_matches=True))
        anchor_list = [anchors] * batch

        def loss_of(outputs):
            losses = RetinaNet.compute_loss(owner, targets, outputs, anchor_list)
            return losses["classification"] + losses["bbox_regression"]

    else:
        masks = torch.from_numpy(numpy.fromfile(command["masks"], dtype=numpy.uint8).astype(numpy.int64)).reshape(batch, height, width)

        def loss_of(outputs):
            loss = F.cross_entropy(outputs["out"], masks, ignore_index=255)
            if "aux" in outputs:
                loss = loss + 0.5 * F.cross_entropy(outputs["aux"], masks, ignore_index=255)
            return loss

    runs[command["name"]] = (model, optimizer, images, loss_of, command.get("clip"))
    return {"parameters": sum(p.numel() for p in model.parameters())}


def step(command):
    model, optimizer, images, loss_of, clip = runs[command["name"]]
    start, cpu_start = time.perf_counter(), time.process_time()
    optimizer.zero_grad(set_to_none=True)
    loss = loss_of(model(images))
    loss.backward()
    if clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu_start, "loss": loss.item()}


def main():
    print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        command = json.loads(line)
        try:
            answer = load(command) if command["op"] == "load" else step(command)
        except Exception as error:  # noqa: BLE001 — reported to the driver, which stops
            answer = {"error": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)


main()
