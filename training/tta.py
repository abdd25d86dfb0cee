"""Test-time augmentation (TTA): the views of Vu 2025 and the module that averages them.

Views act on ``(B, 3, H, W)`` float32 RGB in [0, 1]: ``original``, ``hflip`` (horizontal flip),
``brightness_0.95`` and ``brightness_1.05`` (pixels scaled, clamped to [0, 1]).
"""

from __future__ import annotations

import torch
from torch import nn

VIEWS = {
    "original": lambda x: x,
    "hflip": lambda x: torch.flip(x, dims=[3]),
    "brightness_0.95": lambda x: torch.clamp(x * 0.95, 0.0, 1.0),
    "brightness_1.05": lambda x: torch.clamp(x * 1.05, 0.0, 1.0),
}
DEFAULT_VIEWS = tuple(VIEWS)


def check_views(views) -> tuple[str, ...]:
    """Validate view names. Raises ValueError on an empty list or an unknown name."""
    views = tuple(views)
    unknown = [v for v in views if v not in VIEWS]
    if not views or unknown:
        raise ValueError(f"TTA views must be a non-empty subset of {DEFAULT_VIEWS}, got {views}")
    return views


class TTAModel(nn.Module):
    """Wraps a logits model: ``(B, 3, 224, 224)`` float32 RGB in [0, 1] -> ``(B,)`` probability of AI:
    the views' logits averaged, then Platt scaling ``sigmoid(a * mean_logit + b)``
    (``training.calibration``, ``training.selection.Selection.probability``; identity by default).
    This is the form exported to ONNX.

    The views run as one batch of ``B * V`` images, so the exported graph makes one backbone call.
    """

    def __init__(self, model: nn.Module, views=DEFAULT_VIEWS, platt: tuple[float, float] = (1.0, 0.0)):
        super().__init__()
        self.model, self.views = model, check_views(views)
        self.platt_a, self.platt_b = float(platt[0]), float(platt[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = torch.cat([VIEWS[v](x) for v in self.views], dim=0)
        mean_logit = self.model(batch).view(len(self.views), -1).mean(dim=0)
        return torch.sigmoid(self.platt_a * mean_logit + self.platt_b)
