#!/usr/bin/python3
"""PyTorch reference data for netspec's parity tests.

For each model, with a fixed seed: a randomly initialised state dict (BatchNorm statistics and affine
parameters randomised too, so that eval-mode BatchNorm is exercised) as <name>.safetensors, and a fixed
input batch with the eval-mode outputs (and, for resnet18, each stage's output) as <name>.io.safetensors.
The same state dict is loaded, with no renames beyond the model's own, into the PyTorch module netspec
generated for the model's spec, and that module's outputs are saved beside the reference's as
emitted.<output>. Tensors are NCHW as PyTorch holds them.

Usage: /usr/bin/python3 scripts/pytorch-reference.py OUT_DIR [MODEL ...]
Needs Debian's python3-torch and python3-torchvision; writes safetensors with the engine's own writer (the format is small).
"""
import importlib.util
import math
import types
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torchvision

# The safetensors writer of the training engine netspec ships.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "python"))
from netspec_torch_train import write_safetensors  # noqa: E402


class FoundingBlock(nn.Module):
    """The basic block of the code netspec started from: its projection shortcut is named `shortcut`."""

    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, kernel_size=1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


class FoundingResNet(nn.Module):
    """The founding CIFAR-layout ResNet: 3×3 stride-1 stem, no max-pool, global average pooling, `fc`."""

    def __init__(self, num_blocks, num_classes=10):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make_layer(64, num_blocks[0], 1)
        self.layer2 = self._make_layer(128, num_blocks[1], 2)
        self.layer3 = self._make_layer(256, num_blocks[2], 2)
        self.layer4 = self._make_layer(512, num_blocks[3], 2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512, num_classes)

    def _make_layer(self, planes, blocks, stride):
        layers = []
        for s in [stride] + [1] * (blocks - 1):
            layers.append(FoundingBlock(self.in_planes, planes, s))
            self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.fc(torch.flatten(self.avgpool(out), 1))


class SEModule(nn.Module):
    """timm's SEModule as its ResNets build it: reduction 1/16 made divisible by 8, 1×1 convolutions with bias."""

    def __init__(self, channels):
        super().__init__()
        reduced = max(8, int(channels / 16 + 4) // 8 * 8)
        self.fc1 = nn.Conv2d(channels, reduced, kernel_size=1, bias=True)
        self.fc2 = nn.Conv2d(reduced, channels, kernel_size=1, bias=True)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(torch.relu(self.fc1(x.mean((2, 3), keepdim=True)))))


class EcaModule(nn.Module):
    """timm's EcaModule: a 1-D convolution over the channel means, its kernel size from the channel count."""

    def __init__(self, channels, gamma=2, beta=1):
        super().__init__()
        t = int(abs(math.log(channels, 2) + beta) / gamma)
        kernel_size = max(t if t % 2 else t + 1, 3)
        self.conv = nn.Conv1d(1, 1, kernel_size=kernel_size, padding=(kernel_size - 1) // 2, bias=False)

    def forward(self, x):
        y = self.conv(x.mean((2, 3)).view(x.shape[0], 1, -1))
        return x * torch.sigmoid(y).view(x.shape[0], -1, 1, 1)


def attended_forward(self, x):
    """torchvision's Bottleneck.forward with timm's attention after the last BatchNorm, before the add."""
    out = self.relu(self.bn1(self.conv1(x)))
    out = self.relu(self.bn2(self.conv2(out)))
    out = self.se(self.bn3(self.conv3(out)))
    identity = x if self.downsample is None else self.downsample(x)
    return self.relu(out + identity)


def with_attention(model, attention):
    for stage in [model.layer1, model.layer2, model.layer3, model.layer4]:
        for block in stage:
            block.se = attention(block.bn3.num_features)
            block.forward = types.MethodType(attended_forward, block)
    return model


def resnet_d(model):
    """timm's ResNet-D from torchvision's resnet50: the deep 32-32-64 stem and average-pool projection shortcuts."""
    model.conv1 = nn.Sequential(
        nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        nn.Conv2d(32, 32, 3, stride=1, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),
        nn.Conv2d(32, 64, 3, stride=1, padding=1, bias=False),
    )
    for stage in [model.layer1, model.layer2, model.layer3, model.layer4]:
        conv, bn = stage[0].downsample
        stride = conv.stride[0]
        pool = nn.AvgPool2d(2, stride, ceil_mode=True, count_include_pad=False) if stride > 1 else nn.Identity()
        stage[0].downsample = nn.Sequential(pool, nn.Conv2d(conv.in_channels, conv.out_channels, 1, bias=False), bn)
    return model


def dilated_backbone():
    """torchvision's resnet50 with layer3 and layer4 dilated, returning each stage's output as C2…C5."""
    model = torchvision.models.resnet50(replace_stride_with_dilation=[False, True, True])
    stages = {"layer1": "C2", "layer2": "C3", "layer3": "C4", "layer4": "C5"}
    return torchvision.models._utils.IntermediateLayerGetter(model, stages)


MODELS = {
    "founding_resnet34": (lambda: FoundingResNet([3, 4, 6, 3]), 32),
    "resnet18": (torchvision.models.resnet18, 224),
    "resnet34": (torchvision.models.resnet34, 224),
    "resnet50": (torchvision.models.resnet50, 224),
    "resnext50_32x4d": (torchvision.models.resnext50_32x4d, 224),
    "seresnet50": (lambda: with_attention(torchvision.models.resnet50(), SEModule), 224),
    "ecaresnet50d": (lambda: with_attention(resnet_d(torchvision.models.resnet50()), EcaModule), 224),
    "resnet50_dilated8": (dilated_backbone, 224),
}
# The module netspec generates for each model's spec, and the renames the model's own names need.
EMITTED = {
    "founding_resnet34": ("generated/resnet34.py", [(".shortcut.", ".downsample.")]),
    "resnet18": ("generated/imagenet/resnet18.py", []),
    "resnet34": ("generated/imagenet/resnet34.py", []),
    "resnet50": ("generated/imagenet/resnet50.py", []),
    "resnext50_32x4d": ("generated/imagenet/resnext50_32x4d.py", []),
    "seresnet50": ("generated/imagenet/seresnet50.py", []),
    "ecaresnet50d": ("generated/imagenet/ecaresnet50d.py", []),
    "resnet50_dilated8": ("generated/imagenet/resnet50_dilated8.py", []),
}
STAGES_OF = {"resnet18"}

def randomise_batchnorm(model, generator):
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            c = module.num_features
            module.weight.data = torch.rand(c, generator=generator) + 0.5
            module.bias.data = torch.rand(c, generator=generator) - 0.5
            module.running_mean = torch.rand(c, generator=generator) * 0.4 - 0.2
            module.running_var = torch.rand(c, generator=generator) + 0.5
            module.num_batches_tracked = torch.tensor(100, dtype=torch.int64)


def emitted_outputs(name, state_dict, x):
    """The generated module's eval-mode outputs for `x`, with the reference's weights loaded strictly."""
    path, renames = EMITTED[name]
    spec = importlib.util.spec_from_file_location(f"emitted_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.create_model()
    renamed = {}
    for key, tensor in state_dict.items():
        for old, new in renames:
            key = key.replace(old, new)
        renamed[key] = tensor
    model.load_state_dict(renamed, strict=True)
    model.eval()
    with torch.no_grad():
        y = model(x)
    return y if isinstance(y, dict) else {"output": y}


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    names = sys.argv[2:] or list(MODELS)
    torch.set_num_threads(2)
    for name in names:
        build, size = MODELS[name]
        torch.manual_seed(0)
        generator = torch.Generator().manual_seed(1)
        model = build()
        randomise_batchnorm(model, generator)
        model.eval()
        x = torch.randn(2, 3, size, size, generator=generator)
        stages = {}
        if name in STAGES_OF:
            for stage in ["layer1", "layer2", "layer3", "layer4"]:
                getattr(model, stage).register_forward_hook(lambda _m, _i, output, stage=stage: stages.__setitem__(stage, output))
        with torch.no_grad():
            y = model(x)
        outputs = dict(y) if isinstance(y, dict) else {"output": y}
        emitted = {f"emitted.{key}": value for key, value in emitted_outputs(name, model.state_dict(), x).items()}
        write_safetensors(out / f"{name}.safetensors", model.state_dict())
        write_safetensors(out / f"{name}.io.safetensors", {"input": x, **outputs, **stages, **emitted})
        shapes = ", ".join(f"{key} {list(value.shape)}" for key, value in outputs.items())
        print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters, {shapes}")


if __name__ == "__main__":
    main()
