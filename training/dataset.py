"""Torch dataset over the shared data, decoding with the preprocessing contract."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, get_worker_info

from backend.preprocessing import INPUT_SIZE, decode_image, to_model_input
from training.data import Sample


class EvalTransform:
    """The backend's path: decoded RGB ``PIL.Image`` -> ``(3, size, size)`` float32 in [0, 1]."""

    def __init__(self, size: int = INPUT_SIZE, resize_mode: str = "center_crop"):
        self.size, self.resize_mode = size, resize_mode

    def __call__(self, img) -> np.ndarray:
        return to_model_input(img, self.size, self.resize_mode)


class ImageDataset(Dataset):
    """Items ``(image, label)``: image ``(3, 224, 224)`` float32 in [0, 1], label float32 (1 = AI).

    Args:
        root: data root holding the manifest's files.
        samples: the split's samples.
        transform: decoded RGB image -> ``(3, H, W)`` float32 array (``EvalTransform`` or
            ``training.augment.TrainTransform``).
        degrade: optional bytes -> bytes function applied to the file first (the laundered copies).

    Raises (per item): ``backend.preprocessing.ImageError`` for an unreadable file.
    """

    def __init__(self, root: Path, samples: list[Sample], transform: Callable,
                 degrade: Callable[[bytes], bytes] | None = None):
        self.root, self.samples, self.transform, self.degrade = Path(root), samples, transform, degrade

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        sample = self.samples[index]
        data = (self.root / sample.file).read_bytes()
        if self.degrade is not None:
            data = self.degrade(data)
        image = torch.from_numpy(self.transform(decode_image(data)))
        return image, torch.tensor(float(sample.label))


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: give each worker's augmentation its own repeatable stream."""
    info = get_worker_info()
    transform = getattr(info.dataset, "transform", None)
    if hasattr(transform, "reseed"):
        transform.reseed(info.seed % 2**32)
