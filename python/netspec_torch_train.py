#!/usr/bin/python3
"""netspec's PyTorch training engine: `netspec train --engine torch` launches it through torchrun.

It trains the nn.Module that `netspec compile --target pytorch` emits for the spec, on the images netspec
prepared in the run folder, with the recipe of netspec's own trainer: SGD (momentum, Nesterov) or Adam with
torch.optim's weight decay, the same learning-rate schedules by optimiser step, random crops with zero padding
and horizontal flips, and per-channel input normalisation. It starts from the initial weights netspec wrote and
draws each epoch's order and each image's crop and flip from netspec's seeded generator, number for number, so
that both engines given the same seed train on the same batches from the same weights. With several processes it
is DistributedDataParallel (gloo on CPUs, nccl on GPUs), and BatchNorm normalises each batch with the statistics
of the whole global batch, so N processes compute what one process does with the same global batch.

The run folder holds, from netspec: model.py, torch-run.json (settings and normalisation), torch-init.safetensors
(the initial state dict) and torch-data.safetensors (the images and labels as bytes); this engine adds
checkpoint.safetensors after each epoch (resumed with --resume: tensors and JSON, no pickle), torch-history.json,
and at the end weights.safetensors (the state dict), which netspec turns into a weights folder, metrics.json and
curves.svg. Rank 0 reports each step and each epoch to standard output as one JSON object a line, which netspec
shows as its own trainer's progress.

Detectors and segmenters train in netspec_torch_dense.py, beside this file, which this one hands a run to when its
settings name a task; it reads torch-data.json (an index of the image and mask files) instead of the images.

Usage: torchrun [torchrun options] netspec_torch_train.py RUN_DIR [--resume] [--stop-after EPOCHS]
(--stop-after ends the run after that many epochs, as an interruption would, leaving the checkpoint to resume.)
"""
import importlib.util
import json
import math
import os
import struct
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.distributed.nn as dist_nn
import torch.nn as nn
import torch.nn.functional as F

EVAL_BATCH = 500
ONE_CYCLE = {"warmup": 0.3, "start_divisor": 25, "final_divisor": 1e4}
POLY_POWER = 0.9
STEPS = {"epochs": 26, "milestones": (16, 22), "factor": 0.1, "warmup_factor": 1e-3, "max_warmup": 1000}


def cosine_between(start, end, fraction):
    fraction = min(max(fraction, 0.0), 1.0)
    return end + (start - end) * (1 + math.cos(math.pi * fraction)) / 2


def learning_rate(schedule, peak, step, total):
    """The learning rate after `step` of `total` steps: netspec's schedules (OneCycleLR's defaults, cosine, constant,
    poly, and torchvision's detection steps with warm-up), as src/train/schedule.ts defines them."""
    if schedule == "constant":
        return peak
    if schedule == "cosine":
        return cosine_between(peak, 0.0, step / max(total, 1))
    if schedule == "poly":
        return peak * max(0.0, 1 - step / max(total, 1)) ** POLY_POWER
    if schedule == "steps":
        decays = sum(1 for epoch in STEPS["milestones"] if step >= (total * epoch) // STEPS["epochs"])
        warmup = min(STEPS["max_warmup"], total // STEPS["epochs"])
        alpha = min(step / warmup, 1.0) if warmup > 0 else 1.0
        return peak * STEPS["factor"] ** decays * (STEPS["warmup_factor"] * (1 - alpha) + alpha)
    start = peak / ONE_CYCLE["start_divisor"]
    warmup_steps = ONE_CYCLE["warmup"] * total - 1
    if step <= warmup_steps:
        return cosine_between(start, peak, step / warmup_steps)
    return cosine_between(peak, start / ONE_CYCLE["final_divisor"], (step - warmup_steps) / (total - 1 - warmup_steps))


UINT32 = 0xFFFFFFFF


def mulberry32(seed):
    """netspec's seeded uniform generator (mulberry32), number for number: JavaScript's int32 arithmetic mod 2³²."""
    state = seed & UINT32

    def draw():
        nonlocal state
        state = (state + 0x6D2B79F5) & UINT32
        t = ((state ^ (state >> 15)) * (state | 1)) & UINT32
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & UINT32)) & UINT32
        return (t ^ (t >> 14)) / 4294967296

    return draw


def random_for(seed, *position):
    """netspec's generator for one purpose at one point of training (randomFor in src/train/batches.ts)."""
    state = seed & UINT32
    for p in position:
        state = ((((state ^ ((p + 0x9E3779B9) & UINT32)) * 0x85EBCA6B) & UINT32) + 0x27D4EB2F) & UINT32
    return mulberry32(state)


def epoch_order(count, seed, epoch, limit):
    """The tfjs engine's order of the first `limit` of `count` training images in an epoch: its Fisher–Yates shuffle."""
    order = list(range(count))
    draw = random_for(seed, 1, epoch)
    for i in range(count - 1, 0, -1):
        j = math.floor(draw() * (i + 1))
        order[i], order[j] = order[j], order[i]
    return torch.tensor([i for i in order if i < limit], dtype=torch.long)


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the whole global batch, across processes.

    The per-channel sums are taken in double precision and, with several processes, all-reduced through an
    all_reduce that carries gradients, so the backward pass is the one of a single BatchNorm over the global batch.
    One process runs the same arithmetic, so that N processes and one agree to rounding (float32 BatchNorm's own
    rounding differs from it by more than that after a few steps). PyTorch's SyncBatchNorm does this on GPUs only.
    The running statistics use the global unbiased variance, as nn.BatchNorm2d's do.
    """

    def forward(self, x):
        if not self.training:
            return super().forward(x)
        wide = x.double()
        count = torch.tensor([x.numel() // x.shape[1]], dtype=torch.float64, device=x.device)
        stats = torch.cat([wide.sum((0, 2, 3)), (wide * wide).sum((0, 2, 3)), count])
        if dist.is_initialized() and dist.get_world_size() > 1:
            stats = dist_nn.all_reduce(stats)
        channels = x.shape[1]
        total = stats[-1]
        mean = stats[:channels] / total
        var = stats[channels : 2 * channels] / total - mean * mean
        with torch.no_grad():
            self.num_batches_tracked += 1
            unbiased = var * total / (total - 1)
            self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean.to(x.dtype))
            self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased.to(x.dtype))
        scale = self.weight.double() / torch.sqrt(var + self.eps)
        shift = self.bias.double() - mean * scale
        return (wide * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1)).to(x.dtype)


def load_model(path):
    spec = importlib.util.spec_from_file_location("netspec_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_safetensors(path):
    """A safetensors file netspec or this engine wrote: its tensors by name and its metadata."""
    raw = path.read_bytes()
    length = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8 : 8 + length])
    metadata = header.pop("__metadata__", {})
    base = 8 + length
    dtypes = {"F32": np.float32, "I64": np.int64, "U8": np.uint8}

    def tensor(entry):
        begin, end = entry["data_offsets"]
        array = np.frombuffer(raw, dtypes[entry["dtype"]], (end - begin) // np.dtype(dtypes[entry["dtype"]]).itemsize, base + begin)
        return torch.from_numpy(array.reshape(entry["shape"]).copy())

    return {name: tensor(entry) for name, entry in header.items()}, metadata


def save_checkpoint(path, model, optimizer, history, epoch):
    """The model's and optimiser's tensors as safetensors, the rest as JSON in its metadata: no pickle, nothing to run."""
    optimizer_state = optimizer.state_dict()
    tensors = {f"model.{name}": value for name, value in model.state_dict().items()}
    for index, slots in optimizer_state["state"].items():
        tensors.update({f"optimizer.{index}.{key}": value for key, value in slots.items() if torch.is_tensor(value)})
    # The generator's state too: dropout and stochastic depth then draw on after a resume as they would have.
    tensors["rng"] = torch.get_rng_state()
    state = {"epoch": epoch, "history": history, "param_groups": optimizer_state["param_groups"]}
    save_atomically(path, lambda partial: write_safetensors(partial, tensors, {"netspec.checkpoint": json.dumps(state)}))


def load_checkpoint(path, model, optimizer, device):
    """Restores what save_checkpoint saved; returns the history and the next epoch."""
    tensors, metadata = read_safetensors(path)
    state = json.loads(metadata["netspec.checkpoint"])
    model.load_state_dict({name[len("model.") :]: value for name, value in tensors.items() if name.startswith("model.")})
    slots = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            slots.setdefault(int(index), {})[key] = value.to(device)
    optimizer.load_state_dict({"state": slots, "param_groups": state["param_groups"]})
    if "rng" in tensors:
        torch.set_rng_state(tensors["rng"])
    return state["history"], state["epoch"]


def load_initial_weights(path, model):
    """The state dict netspec initialised (or took from --init); only BatchNorm's step counters are the module's own."""
    tensors, _ = read_safetensors(path)
    result = model.load_state_dict(tensors, strict=False)
    missing = [name for name in result.missing_keys if not name.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise RuntimeError(f"{path} does not fit model.py: missing {missing}, unexpected {result.unexpected_keys}")


def read_data(path):
    """The images (uint8, N×H×W×C) and labels netspec wrote for the run, by split, from a safetensors file."""
    tensors, _ = read_safetensors(path)
    return {split: (tensors[f"{split}.images"], tensors[f"{split}.labels"].long()) for split in ("train", "test")}


def normalised(images, normalization):
    """uint8 NHWC → float NCHW, (x / 255 − mean) / std per channel."""
    x = images.permute(0, 3, 1, 2).float() / 255
    mean = torch.tensor(normalization["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(normalization["std"]).view(1, -1, 1, 1)
    return (x - mean) / std


def augmented(images, augmentation, draw):
    """Random crops of the zero-padded uint8 NHWC images and horizontal flips, drawn image by image as the tfjs engine
    draws them (row offset, column offset, then the flip), so that padding is black before normalisation."""
    pad = augmentation["cropPadding"]
    height, width = images.shape[1], images.shape[2]
    padded = F.pad(images, (0, 0, pad, pad, pad, pad))
    crops = []
    for image in padded:
        top = math.floor(draw() * (2 * pad + 1)) if pad > 0 else 0
        left = math.floor(draw() * (2 * pad + 1)) if pad > 0 else 0
        crop = image[top : top + height, left : left + width]
        crops.append(crop.flip(1) if augmentation["horizontalFlip"] and draw() < 0.5 else crop)
    return torch.stack(crops)


def make_optimizer(model, config):
    """The optimiser of the parameters that train (a frozen BatchNorm's do not)."""
    settings = config["optimizer"]
    parameters = [p for p in model.parameters() if p.requires_grad]
    if settings["name"] == "sgd":
        return torch.optim.SGD(parameters, lr=config["learningRate"], momentum=settings["momentum"], nesterov=settings["nesterov"], weight_decay=settings["weightDecay"])
    return torch.optim.Adam(parameters, lr=config["learningRate"], betas=tuple(settings["betas"]), eps=settings["epsilon"], weight_decay=settings["weightDecay"])


def share(count, rank, world):
    """This process's contiguous share of a global batch of `count` images."""
    return round(rank * count / world), round((rank + 1) * count / world)


def evaluate(model, images, labels, normalization, device):
    model.eval()
    loss_sum, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(labels), EVAL_BATCH):
            x = normalised(images[start : start + EVAL_BATCH], normalization).to(device)
            y = labels[start : start + EVAL_BATCH].to(device)
            logits = model(x)
            loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
    model.train()
    return loss_sum / len(labels), correct / len(labels)


def write_safetensors(path, tensors, metadata=None):
    dtypes = {torch.float32: "F32", torch.int64: "I64", torch.uint8: "U8"}
    header, chunks, offset = {"__metadata__": {"producer": "netspec", **(metadata or {})}}, [], 0
    for name, tensor in tensors.items():
        data = tensor.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": dtypes[tensor.dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for chunk in chunks:
            f.write(chunk)


def save_atomically(path, write):
    partial = path.with_name(f".{path.name}.partial")
    write(partial)
    os.replace(partial, path)


def setup():
    """The process group when torchrun started several processes: nccl on GPUs, gloo on CPUs."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    device = torch.device(f"cuda:{os.environ.get('LOCAL_RANK', '0')}" if torch.cuda.is_available() else "cpu")
    return (dist.get_rank() if world > 1 else 0), world, device


def report(kind, record):
    """One line of JSON on standard output for netspec, which shows it as its own trainer's progress."""
    print(json.dumps({kind: record}), flush=True)


def train_epoch(model, optimizer, data, settings, epoch, rank, world, device):
    config, normalization = settings["config"], settings["normalization"]
    augmentation = config["augmentation"]
    images, labels = data
    count = len(labels)
    batch = config["batchSize"]
    steps = math.ceil(count / batch)
    total = steps * config["epochs"]
    order = epoch_order(settings["shuffledCount"], config["seed"], epoch, count)
    loss_sum, correct, started = 0.0, 0, time.perf_counter()
    for step in range(steps):
        indices = order[step * batch : (step + 1) * batch]
        pixels = images[indices]
        if augmentation["cropPadding"] > 0 or augmentation["horizontalFlip"]:
            pixels = augmented(pixels, augmentation, random_for(config["seed"], 2, epoch, step))
        begin, end = share(len(indices), rank, world)
        x, y = normalised(pixels[begin:end], normalization).to(device), labels[indices][begin:end].to(device)
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(config["schedule"], config["learningRate"], epoch * steps + step, total)
        logits = model(x)
        share_loss = F.cross_entropy(logits, y, reduction="sum")
        optimizer.zero_grad(set_to_none=True)
        # DDP averages gradients over processes: scaling each share's sum by world / global count makes that the global mean.
        (share_loss * world / len(indices)).backward()
        if config.get("clipGradNorm"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), config["clipGradNorm"])
        optimizer.step()
        stats = torch.tensor([share_loss.item(), (logits.argmax(1) == y).sum().item()], dtype=torch.float64)
        if world > 1:
            dist.all_reduce(stats)
        loss_sum += stats[0].item()
        correct += int(stats[1].item())
        done = min((step + 1) * batch, count)
        if rank == 0:
            report("step", {"epoch": epoch + 1, "epochs": config["epochs"], "done": done, "total": count, "loss": loss_sum / done, "accuracy": correct / done, "seconds": time.perf_counter() - started})
    return loss_sum / count, correct / count


def prepared_model(run, config, device):
    """The spec's module from model.py, its BatchNorm over the global batch, channels_last on the device."""
    # Seeds what the model draws while training (dropout, stochastic depth); the weights come from netspec.
    torch.manual_seed(config["seed"])
    model = load_model(run / "model.py").create_model()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.__class__ = GlobalBatchNorm2d
    # The inputs are channels_last (NHWC images, permuted), and so is the model: every gradient then has its
    # parameter's strides, as DDP's buckets expect (a contiguous 1×1 kernel's channels_last gradient has other
    # strides for the same memory, which DDP warned about once per such kernel and process), and CPU convolutions
    # run in their faster layout.
    return model.to(device, memory_format=torch.channels_last)


def save_results(run, model, history):
    """The trained state dict and the history, which netspec turns into a weights folder, metrics.json and curves.svg."""
    save_atomically(run / "weights.safetensors", lambda path: write_safetensors(path, {k: v.cpu() for k, v in model.state_dict().items()}))
    save_atomically(run / "torch-history.json", lambda path: path.write_text(json.dumps(history, indent=2) + "\n"))


def main():
    run = Path(sys.argv[1])
    resume = "--resume" in sys.argv[2:]
    stop_after = int(sys.argv[sys.argv.index("--stop-after") + 1]) if "--stop-after" in sys.argv else None
    settings = json.loads((run / "torch-run.json").read_text())
    if settings.get("task"):
        import netspec_torch_dense

        return netspec_torch_dense.main(run, settings, resume, stop_after)
    config = settings["config"]
    rank, world, device = setup()
    if rank == 0:
        report("start", {"processes": world, "machines": int(os.environ.get("GROUP_WORLD_SIZE", "1")), "device": device.type})
    model = prepared_model(run, config, device)
    optimizer = make_optimizer(model, config)
    history, first_epoch = [], 0
    checkpoint_path = run / "checkpoint.safetensors"
    if resume:
        history, first_epoch = load_checkpoint(checkpoint_path, model, optimizer, device)
    else:
        load_initial_weights(run / "torch-init.safetensors", model)
    trained = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    data = read_data(run / "torch-data.safetensors")
    train_data, test_data = data["train"], data["test"]
    for epoch in range(first_epoch, config["epochs"]):
        started = time.perf_counter()
        train_loss, train_accuracy = train_epoch(trained, optimizer, train_data, settings, epoch, rank, world, device)
        if rank == 0:
            test_loss, test_accuracy = evaluate(model, *test_data, settings["normalization"], device)
            record = {"epoch": epoch + 1, "trainLoss": train_loss, "trainAccuracy": train_accuracy, "testLoss": test_loss, "testAccuracy": test_accuracy, "seconds": time.perf_counter() - started}
            history.append(record)
            save_checkpoint(checkpoint_path, model, optimizer, history, epoch + 1)
            report("epoch", record)
        if world > 1:
            dist.barrier()
        if stop_after is not None and epoch + 1 >= stop_after:
            break
    if rank == 0 and len(history) == config["epochs"]:
        save_results(run, model, history)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
