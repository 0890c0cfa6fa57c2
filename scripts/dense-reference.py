#!/usr/bin/python3
"""PyTorch reference data for netspec's segmentation and detection parity test.

For each model named on the command line, built by torchvision without pretrained weights and with a fixed seed:
BatchNorm statistics and affine parameters are randomised, and every convolution with a bias outside the ResNet
is redrawn at unit scale, so that eval-mode BatchNorm, the heads and the pyramid all shape the outputs. Writes the
state dict as <name>.safetensors, and the input batch (HEIGHT×WIDTH) with the eval-mode outputs as
<name>.io.safetensors: `out` and `aux` for segmentation, `cls_logits` and `bbox_regression` (torchvision's
RetinaNetHead outputs) and the pyramid levels P3… and torchvision's decoded detections of each image for detection. The same state dict is loaded strictly into the
PyTorch module netspec generated, whose outputs are saved beside them as emitted.<output>.

Usage: /usr/bin/python3 scripts/dense-reference.py OUT_DIR HEIGHT WIDTH NAME=GENERATED.py ...
"""
import importlib.util
import math
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torchvision.models.detection as detection
import torchvision.models.segmentation as segmentation
from torchvision.models.detection.image_list import ImageList

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))
from netspec_torch_train import write_safetensors  # noqa: E402

MODELS = {
    "fcn_resnet50": lambda: segmentation.fcn_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=True),
    "deeplabv3_resnet50": lambda: segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=True),
    "retinanet_resnet50_fpn": lambda: detection.retinanet_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91),
}


def randomise(model, generator):
    for name, module in model.named_modules():
        if isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            module.weight.data = torch.rand(c, generator=generator) + 0.5
            module.bias.data = torch.rand(c, generator=generator) - 0.5
            module.running_mean = torch.rand(c, generator=generator) * 0.4 - 0.2
            module.running_var = torch.rand(c, generator=generator) + 0.5
        elif isinstance(module, nn.Conv2d) and module.bias is not None:
            fan_in = module.weight[0].numel()
            module.weight.data = torch.randn(module.weight.shape, generator=generator) / math.sqrt(fan_in)
            module.bias.data = torch.rand(module.bias.shape, generator=generator) - 0.5


def reference_outputs(name, model, x):
    with torch.no_grad():
        if name.startswith("retinanet"):
            features = list(model.backbone(x).values())
            head = model.head(features)
            levels = {f"P{i + 3}": level for i, level in enumerate(features)}
            return {"cls_logits": head["cls_logits"], "bbox_regression": head["bbox_regression"], **levels, **detections(model, x, features, head)}
        return dict(model(x))


def detections(model, x, features, head):
    """torchvision's own decoding of raw outputs for the unpadded batch, as RetinaNet.forward splits them: the head's
    outputs divided by 100, since the redrawn weights give logits of hundreds, whose sigmoids all round to 1 and tie."""
    head = {key: value / 100 for key, value in head.items()}
    size = tuple(x.shape[-2:])
    anchors = model.anchor_generator(ImageList(x, [size] * len(x)), features)
    per_level = [level.shape[2] * level.shape[3] * model.anchor_generator.num_anchors_per_location()[0] for level in features]
    split = {key: list(value.split(per_level, dim=1)) for key, value in head.items()}
    found = model.postprocess_detections(split, [list(a.split(per_level)) for a in anchors], [size] * len(x))
    decoded = {f"detections.{i}.{key}": value.float() for i, image in enumerate(found) for key, value in image.items()}
    return {"decode.cls_logits": head["cls_logits"], "decode.bbox_regression": head["bbox_regression"], **decoded}


def emitted_outputs(name, path, state_dict, x):
    spec = importlib.util.spec_from_file_location(f"emitted_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.create_model()
    model.load_state_dict(state_dict, strict=True)
    model.eval()
    with torch.no_grad():
        return dict(model(x))


def main():
    out = Path(sys.argv[1])
    height, width = int(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(2)
    for pair in sys.argv[4:]:
        name, path = pair.split("=", 1)
        torch.manual_seed(0)
        generator = torch.Generator().manual_seed(1)
        model = MODELS[name]()
        randomise(model, generator)
        model.eval()
        x = torch.randn(2, 3, height, width, generator=generator)
        outputs = reference_outputs(name, model, x)
        emitted = {f"emitted.{key}": value for key, value in emitted_outputs(name, path, model.state_dict(), x).items()}
        write_safetensors(out / f"{name}.safetensors", model.state_dict())
        write_safetensors(out / f"{name}.io.safetensors", {"input": x, **outputs, **emitted})
        trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        print(f"{name}: {trainable} trainable parameters, " + ", ".join(f"{k} {list(v.shape)}" for k, v in outputs.items()))


if __name__ == "__main__":
    main()
