"""Squeeze-and-excitation channel attention."""

from __future__ import annotations

import torch
from torch import nn


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation block (Hu et al. 2018, "Squeeze-and-Excitation Networks"), as used on
    the MobileNetV2 feature map by Vu 2025, Eq. 1:

        s = sigmoid(W2 · ReLU(W1 · GAP(F))),   F' = s ⊙ F

    with ``W1: C -> C / r`` and ``W2: C / r -> C`` (reduction ``r = 4``: 1280 -> 320 -> 1280).

    Args:
        channels: C, the number of feature channels.
        reduction: r, the bottleneck ratio.

    Shapes:
        input ``(B, C, H, W)`` float32, output the same shape (each channel scaled by s in (0, 1)).
    """

    def __init__(self, channels: int = 1280, reduction: int = 4) -> None:
        super().__init__()
        if channels % reduction:
            raise ValueError(f"channels ({channels}) must be divisible by reduction ({reduction})")
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1)
        self.act = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1)
        self.gate = nn.Sigmoid()

    def excite(self, z: torch.Tensor) -> torch.Tensor:
        """Channel weights s from squeezed features: ``(B, C)`` float32 -> ``(B, C)`` in (0, 1)."""
        z = z[:, :, None, None]
        return self.gate(self.fc2(self.act(self.fc1(z))))[:, :, 0, 0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.excite(self.pool(x)[:, :, 0, 0])[:, :, None, None]

    def forward_pooled(self, z: torch.Tensor) -> torch.Tensor:
        """SE followed by global average pooling, from the pooled map alone: since s is constant per
        channel, ``GAP(s ⊙ F) = s ⊙ GAP(F)``. ``(B, C)`` -> ``(B, C)`` float32. This is what lets the
        head be trained on cached pooled features and exported on the full map unchanged."""
        return z * self.excite(z)
