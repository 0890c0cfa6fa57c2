"""netspec's PyTorch engine for detectors (RetinaNet) and segmenters (FCN, DeepLabV3); netspec_torch_train.py hands
a run to main() here when its settings name a task.

The run folder's torch-data.json, written by netspec, indexes the data instead of copying it: each image's file and
its boxes (x1, y1, x2, y2 in the image's pixels, crowd regions left out) with their head outputs, or its mask file;
RetinaNet's anchors over all levels as netspec generates them; the input size, normalisation and filter. A Dataset
reads the files with PIL in DataLoader workers and fits them as netspec's image pipeline and its trainer do: the
letterbox (scaled to fit, padded at the bottom and right with zeros after normalisation, masks by NEAREST and padded
with 255), the detection scale jitter and flip, torchvision's segmentation recipe; the random numbers are the tfjs
engine's, so that with the same seed both engines train on the same batches. The losses are torchvision's own:
RetinaNet.compute_loss (Matcher(0.5, 0.4, True), box_iou, BoxCoder((1, 1, 1, 1)), sigmoid_focal_loss), and the
reference's cross-entropy with ignore_index 255 on `out` plus 0.5 times that on `aux`.

Each step and epoch is reported to netspec as one JSON line, with the loss's parts; a data fault or a dead DataLoader
worker ends the run with one {"error": ...} line and status 1, the last epoch's checkpoint kept.
"""
import functools
import json
import math
import os
import signal
import time
import types

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision.models.detection._utils import BoxCoder, Matcher
from torchvision.models.detection.retinanet import RetinaNet, RetinaNetClassificationHead, RetinaNetHead, RetinaNetRegressionHead

import netspec_torch_train as engine

IGNORE_INDEX = 255
AUX_WEIGHT = 0.5
FILTERS = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC}
# netspec checks image sizes against its own limit, which the index carries; PIL's warning would only repeat it.
Image.MAX_IMAGE_PIXELS = None


class RunFault(Exception):
    """What ends the run, in one line: a data file that cannot be used (naming it), which travels from a DataLoader
    worker as a value rather than a traceback, a dead worker, or a loss that is no longer finite."""


def js_round(value):
    """JavaScript's Math.round (halves up), which netspec's letterbox rounds sizes with."""
    floor = math.floor(value)
    return floor + 1 if value - floor >= 0.5 else floor


def clamp(value, limit):
    return min(limit, max(0.0, value))


class DenseImages(Dataset):
    """The training images of the index, each read, augmented and normalised on request: key (image, epoch, step,
    position in the global batch) says which random numbers it takes, as the tfjs engine draws them image by image."""

    def __init__(self, index, config):
        self.items = index["train"]
        self.task = index["task"]
        self.height, self.width = index["input"]["height"], index["input"]["width"]
        self.filter = FILTERS[index["interpolation"]]
        self.scale = 1 / (255 * np.array(index["std"], dtype=np.float64))
        self.shift = np.array(index["mean"], dtype=np.float64) / np.array(index["std"], dtype=np.float64)
        self.classes = index["classes"]
        self.max_pixels = index["maxPixels"]
        augmentation = config["augmentation"]
        self.flip = augmentation["horizontalFlip"]
        self.scale_range = augmentation.get("scaleRange") or [1, 1]
        self.recipe = augmentation.get("segmentationRecipe", False)
        self.seed = config["seed"]
        # Numbers each image draws (always as many): detection's scale, left, top and flip; the recipe's size, flip, top, left.
        self.draws = (3 + int(self.flip)) if self.task == "detection" else (4 if self.recipe else 0)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, key):
        index, epoch, step, position = key
        draw = engine.random_for(self.seed, 2, epoch, step)
        for _ in range(position * self.draws):
            draw()
        item = self.items[index]
        try:
            return self.detection(item, draw) if self.task == "detection" else self.segmentation(item, draw)
        except RunFault as fault:
            return fault

    def read(self, path, mask=False):
        """An image file as PIL decodes it (RGB), or a mask's class indices (a palette or grey PNG)."""
        try:
            with Image.open(path) as image:
                if image.width * image.height > self.max_pixels:
                    raise RunFault(f"{path}: is {image.width}×{image.height}, more than the {self.max_pixels} pixels allowed (--max-pixels)")
                if mask and image.mode not in ("P", "L"):
                    raise RunFault(f"{path}: is a mode {image.mode} image; save masks as palette (PIL mode P) or 8-bit grey (mode L) PNGs of class indices")
                return image.copy() if mask else image.convert("RGB")
        except (OSError, ValueError, SyntaxError) as error:
            raise RunFault(f"{path}: cannot be read: {error}".replace("\n", " ")) from None

    def normalised(self, pixels):
        """uint8 H×W×C to (v / 255 − mean) / std, in double then float32 as netspec rounds it, channels first."""
        values = (np.asarray(pixels, dtype=np.float64) * self.scale - self.shift).astype(np.float32)
        return torch.from_numpy(values).permute(2, 0, 1)

    def letterboxed(self, window):
        """The filled pixels at the top left of the input, zeros (the mean colour) elsewhere."""
        out = torch.zeros(3, self.height, self.width)
        out[:, : window.height, : window.width] = self.normalised(window)
        return out

    def detection(self, item, draw):
        """netspec's augmentDetection: the letterbox scaled by a drawn factor, a window cut where it outgrows the input, a flip."""
        image = self.read(item["path"])
        low, high = self.scale_range
        scale = min(self.height / image.height, self.width / image.width) * (low + draw() * (high - low))
        resized = (max(1, js_round(image.width * scale)), max(1, js_round(image.height * scale)))
        left = math.floor(draw() * (max(0, resized[0] - self.width) + 1))
        top = math.floor(draw() * (max(0, resized[1] - self.height) + 1))
        filled = (min(self.width, resized[0]), min(self.height, resized[1]))
        window = image.resize(resized, self.filter).crop((left, top, left + filled[0], top + filled[1]))
        flipped = self.flip and draw() < 0.5
        if flipped:
            window = window.transpose(Image.FLIP_LEFT_RIGHT)
        moved = {"scale": (resized[0] / image.width, resized[1] / image.height), "offset": (left, top), "filled": filled}
        boxes, labels = moved_boxes(item["boxes"], item["labels"], moved, flipped)
        target = {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), "labels": torch.tensor(labels, dtype=torch.int64)}
        return self.letterboxed(window), target

    def segmentation(self, item, draw):
        image, mask = self.read(item["path"]), self.read(item["mask"], mask=True)
        if mask.size != image.size:
            raise RunFault(f"{item['mask']}: is {mask.width}×{mask.height}, but its image is {image.width}×{image.height}")
        classes = np.asarray(mask)
        beyond = np.flatnonzero((classes >= self.classes) & (classes != IGNORE_INDEX))
        if len(beyond) > 0:
            value = classes.flat[beyond[0]]
            raise RunFault(
                f"{item['mask']}: holds class {value} at pixel {beyond[0]}, but the head has {self.classes} classes (0 to {self.classes - 1}, and 255 for pixels not scored)"
            )
        if self.recipe:
            return self.reference_recipe(image, mask, draw)
        scale = min(self.height / image.height, self.width / image.width)
        filled = (min(self.width, max(1, js_round(image.width * scale))), min(self.height, max(1, js_round(image.height * scale))))
        target = torch.full((self.height, self.width), IGNORE_INDEX, dtype=torch.int64)
        target[: filled[1], : filled[0]] = torch.from_numpy(np.asarray(mask.resize(filled, Image.NEAREST), dtype=np.int64))
        return self.letterboxed(image.resize(filled, self.filter)), target

    def reference_recipe(self, image, mask, draw):
        """netspec's augmentSegmentation (torchvision's reference): the shorter side resized to a drawn size, a flip,
        padding at the bottom and right (the image with black before normalisation, the mask with 255), a window."""
        base = js_round(max(self.height, self.width) * 520 / 480)
        smallest = max(1, base // 2)
        size = smallest + math.floor(draw() * (2 * base - smallest + 1))
        resized = (size, math.trunc(size * image.height / image.width)) if image.width <= image.height else (math.trunc(size * image.width / image.height), size)
        flipped = draw() < 0.5
        top = math.floor(draw() * (max(0, resized[1] - self.height) + 1))
        left = math.floor(draw() * (max(0, resized[0] - self.width) + 1))
        box = (left, top, left + min(self.width, resized[0] - left), top + min(self.height, resized[1] - top))
        pixels, classes = image.resize(resized, self.filter), mask.resize(resized, Image.NEAREST)
        if flipped:
            pixels, classes = pixels.transpose(Image.FLIP_LEFT_RIGHT), classes.transpose(Image.FLIP_LEFT_RIGHT)
        pixels, classes = np.asarray(pixels.crop(box)), np.asarray(classes.crop(box))
        padded = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        padded[: pixels.shape[0], : pixels.shape[1]] = pixels
        target = torch.full((self.height, self.width), IGNORE_INDEX, dtype=torch.int64)
        target[: classes.shape[0], : classes.shape[1]] = torch.from_numpy(classes.astype(np.int64))
        return self.normalised(padded), target


def moved_boxes(boxes, labels, moved, flipped):
    """Boxes through the scaling, the window and the flip, clipped to the filled part; those under a pixel across or
    down are dropped with their labels, as netspec's trainer drops them."""
    (sx, sy), (left, top), (width, height) = moved["scale"], moved["offset"], moved["filled"]
    kept, kept_labels = [], []
    for k, label in enumerate(labels):
        x1, y1, x2, y2 = boxes[4 * k : 4 * k + 4]
        across = (clamp(x1 * sx - left, width), clamp(x2 * sx - left, width))
        down = (clamp(y1 * sy - top, height), clamp(y2 * sy - top, height))
        if across[1] - across[0] < 1 or down[1] - down[0] < 1:
            continue
        if flipped:
            across = (width - across[1], width - across[0])
        kept += [across[0], down[0], across[1], down[1]]
        kept_labels.append(label)
    return kept, kept_labels


class Collate:
    """A share of a batch as tensors (boxes stay a list of targets); a fault of any image stands for the batch."""

    def __init__(self, task, height, width):
        self.task, self.height, self.width = task, height, width

    def __call__(self, samples):
        fault = next((sample for sample in samples if isinstance(sample, RunFault)), None)
        if fault is not None:
            return fault
        if not samples:
            # A process whose share of a short last batch is empty still runs the step with the others.
            empty = torch.zeros(0, 3, self.height, self.width)
            return (empty, []) if self.task == "detection" else (empty, torch.zeros(0, self.height, self.width, dtype=torch.int64))
        images = torch.stack([sample[0] for sample in samples])
        targets = [sample[1] for sample in samples]
        return (images, targets) if self.task == "detection" else (images, torch.stack(targets))


class EpochBatches(Sampler):
    """This process's share of each step's global batch, in the tfjs engine's epoch order (its Fisher–Yates shuffle):
    DistributedSampler's own order and interleaved shares would train on other batches than netspec's trainer."""

    def __init__(self, count, batch, seed, rank, world):
        self.count, self.batch, self.seed, self.rank, self.world = count, batch, seed, rank, world
        self.epoch = 0

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __len__(self):
        return math.ceil(self.count / self.batch)

    def __iter__(self):
        order = engine.epoch_order(self.count, self.seed, self.epoch, self.count).tolist()
        for step in range(len(self)):
            indices = order[step * self.batch : (step + 1) * self.batch]
            begin, end = engine.share(len(indices), self.rank, self.world)
            yield [(indices[k], self.epoch, step, k) for k in range(begin, end)]


def loader_workers():
    """A DataLoader worker per core the training processes leave, up to four; none on a machine without one to spare."""
    cores = len(os.sched_getaffinity(0))
    return min(4, max(0, cores // int(os.environ.get("LOCAL_WORLD_SIZE", "1")) - 1))


def retinanet_criterion():
    """What RetinaNet.compute_loss reads of a RetinaNet: the matcher and the heads' compute_loss with their box coder
    and loss type, held in namespaces so that torchvision's own code computes the loss on netspec's module's outputs."""
    classification = types.SimpleNamespace(BETWEEN_THRESHOLDS=Matcher.BETWEEN_THRESHOLDS)
    classification.compute_loss = functools.partial(RetinaNetClassificationHead.compute_loss, classification)
    regression = types.SimpleNamespace(box_coder=BoxCoder(weights=(1.0, 1.0, 1.0, 1.0)), _loss_type="l1")
    regression.compute_loss = functools.partial(RetinaNetRegressionHead.compute_loss, regression)
    head = types.SimpleNamespace(classification_head=classification, regression_head=regression)
    head.compute_loss = functools.partial(RetinaNetHead.compute_loss, head)
    return types.SimpleNamespace(head=head, proposal_matcher=Matcher(0.5, 0.4, allow_low_quality_matches=True))


def detection_parts(outputs, targets, count, criterion, anchors):
    """This share's part of the global batch's mean losses: RetinaNet's per-image means weighted by the share's size."""
    share = len(targets)
    if share == 0:
        zero = sum(output.sum() for output in outputs.values()) * 0
        return {"classification": zero, "boxRegression": zero}
    losses = RetinaNet.compute_loss(criterion, targets, outputs, [anchors] * share)
    return {"classification": losses["classification"] * share / count, "boxRegression": losses["bbox_regression"] * share / count}


def segmentation_parts(outputs, masks, world):
    """This share's part of the cross-entropy over the global batch's scored pixels (F.cross_entropy's mean with
    ignore_index 255 when one process trains); a batch with none scored adds 0, not PyTorch's NaN."""
    scored = (masks != IGNORE_INDEX).sum().double()
    if world > 1:
        dist.all_reduce(scored)
    heads = [name for name in ("out", "aux") if name in outputs]
    return {name: F.cross_entropy(outputs[name], masks, ignore_index=IGNORE_INDEX, reduction="sum") / max(1.0, scored.item()) for name in heads}


def minimised(parts):
    return sum(value * (AUX_WEIGHT if name == "aux" else 1.0) for name, value in parts.items())


class DenseTrainer:
    """The model, its optimiser, the batches and the loss of one process, epoch by epoch."""

    def __init__(self, run, settings, index, rank, world, device):
        self.run, self.settings, self.rank, self.world, self.device = run, settings, rank, world, device
        self.config = settings["config"]
        self.task = index["task"]
        self.count = len(index["train"])
        self.sampler = EpochBatches(self.count, self.config["batchSize"], self.config["seed"], rank, world)
        workers = loader_workers()
        collate = Collate(self.task, index["input"]["height"], index["input"]["width"])
        dataset = DenseImages(index, self.config)
        # A generator of its own for the workers' seeds, which would otherwise be drawn from the one dropout draws from.
        loading = {"num_workers": workers, "collate_fn": collate, "persistent_workers": workers > 0, "generator": torch.Generator()}
        self.loader = DataLoader(dataset, batch_sampler=self.sampler, **loading)
        if self.task == "detection":
            self.criterion = retinanet_criterion()
            self.anchors = torch.tensor(index["anchors"], dtype=torch.float32).reshape(-1, 4).to(device)

    def parts(self, outputs, targets, count):
        if self.task == "detection":
            targets = [{name: value.to(self.device) for name, value in target.items()} for target in targets]
            return detection_parts(outputs, targets, count, self.criterion, self.anchors)
        return segmentation_parts(outputs, targets.to(self.device), self.world)

    def epoch(self, model, optimizer, epoch):
        """One epoch's steps; returns its record (the means of the loss and its parts over its images)."""
        config = self.config
        steps = len(self.sampler)
        sums, done, started = {}, 0, time.perf_counter()
        self.sampler.set_epoch(epoch)
        for step, batch in enumerate(batches(self.loader)):
            count = min(config["batchSize"], self.count - step * config["batchSize"])
            for group in optimizer.param_groups:
                group["lr"] = engine.learning_rate(config["schedule"], config["learningRate"], epoch * steps + step, steps * config["epochs"])
            images, targets = batch
            parts = self.parts(model(images.to(self.device, memory_format=torch.channels_last)), targets, count)
            optimizer.zero_grad(set_to_none=True)
            # DDP averages gradients over processes; each share's part of the global mean, times the processes, makes that mean.
            (minimised(parts) * self.world).backward()
            if config.get("clipGradNorm"):
                torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], config["clipGradNorm"])
            optimizer.step()
            means = torch.tensor([value.item() for value in parts.values()], dtype=torch.float64)
            if self.world > 1:
                dist.all_reduce(means)
            for name, mean in zip(parts, means.tolist()):
                sums[name] = sums.get(name, 0.0) + mean * count
            done += count
            loss = minimised({name: total / done for name, total in sums.items()})
            if not math.isfinite(loss):
                raise RunFault(f"the training diverged at epoch {epoch + 1}, step {step + 1}: the loss is {loss}; the checkpoint of the last finished epoch is kept")
            if self.rank == 0:
                losses = {name: total / done for name, total in sums.items()}
                engine.report("step", {"epoch": epoch + 1, "epochs": config["epochs"], "done": done, "total": self.count, "loss": loss, "losses": losses, "seconds": time.perf_counter() - started})
        losses = {name: total / done for name, total in sums.items()}
        return {"epoch": epoch + 1, "trainLoss": minimised(losses), "losses": losses, "scores": {}, "seconds": time.perf_counter() - started}


def batches(loader):
    """The loader's batches; an image's fault or a worker's death ends the run as one line."""
    iterator = iter(loader)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except (RuntimeError, ConnectionError, EOFError) as error:
            # A worker's death shows as its own RuntimeError, or, when the main process was reading from it, as a broken connection.
            if isinstance(error, RuntimeError) and "DataLoader worker" not in str(error):
                raise
            raise RunFault(f"a DataLoader worker died: {str(error).splitlines()[0] or type(error).__name__}") from None
        if isinstance(batch, RunFault):
            raise batch
        yield batch


def frozen(model, names):
    """The backbone BatchNorm a detector fine-tuned from trained weights keeps as it was: inference mode, no gradients."""
    for name in names:
        module = model.get_submodule(name)
        module.eval()
        for parameter in module.parameters():
            parameter.requires_grad_(False)


def train(run, settings, resume, stop_after, rank, world, device):
    config = settings["config"]
    index_path = run / "torch-data.json"
    try:
        index = json.loads(index_path.read_text())
    except ValueError as error:
        raise RunFault(f"{index_path}: is not JSON: {error}") from None
    model = engine.prepared_model(run, config, device)
    frozen(model, settings.get("frozen", []))
    optimizer = engine.make_optimizer(model, config)
    history, first_epoch = [], 0
    checkpoint_path = run / "checkpoint.safetensors"
    if resume:
        history, first_epoch = engine.load_checkpoint(checkpoint_path, model, optimizer, device)
    else:
        engine.load_initial_weights(run / "torch-init.safetensors", model)
    trained = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    trainer = DenseTrainer(run, settings, index, rank, world, device)
    for epoch in range(first_epoch, config["epochs"]):
        record = trainer.epoch(trained, optimizer, epoch)
        if rank == 0:
            history.append(record)
            engine.save_checkpoint(checkpoint_path, model, optimizer, history, epoch + 1)
            engine.report("epoch", record)
        if world > 1:
            dist.barrier()
        if stop_after is not None and epoch + 1 >= stop_after:
            break
    if rank == 0 and len(history) == config["epochs"]:
        engine.save_results(run, model, history)


def main(run, settings, resume, stop_after):
    rank, world, device = engine.setup()
    if rank == 0:
        engine.report("start", {"processes": world, "machines": int(os.environ.get("GROUP_WORLD_SIZE", "1")), "device": device.type})
    try:
        train(run, settings, resume, stop_after, rank, world, device)
    except RunFault as fault:
        ended(str(fault))
    except OSError as error:
        ended(f"{error.filename or run}: {error.strerror or error}")
    except RuntimeError as error:
        # The DataLoader's SIGCHLD handler raises this wherever the main process is when a worker dies.
        if "DataLoader worker" not in str(error):
            raise
        ended(f"a DataLoader worker died: {str(error).splitlines()[0]}")
    if world > 1:
        dist.destroy_process_group()


def ended(message):
    """Reports what ended the run in one line and leaves at once: the DataLoader's handlers would report a dead
    worker again, as a traceback, while Python exits."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    engine.report("error", message)
    os._exit(1)
