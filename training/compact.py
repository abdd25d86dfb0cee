"""Write a compact copy of the data set (for a remote training machine with an upload limit).

Every image is decoded with the contract, shrunk so its shorter side is at most ``--max-short-side``
pixels, and stored as high-quality JPEG under its original relative path; ``manifest.tsv`` is copied
byte for byte, so the manifest sha256, the perceptual-hash cache and therefore every split stay
identical to those of the original data. Training augmentation shrinks and re-encodes anyway.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from PIL import Image
from tqdm import tqdm

from backend.preprocessing import decode_image
from training.data import load_manifest


def get_args_parser(add_help: bool = True) -> argparse.ArgumentParser:
    """Command-line options of ``compact``."""
    parser = argparse.ArgumentParser(description="Compact copy of the data set", add_help=add_help)
    parser.add_argument("--data-path", default="../shared/data")
    parser.add_argument("--output", required=True)
    parser.add_argument("--max-short-side", type=int, default=320, help="pixels")
    parser.add_argument("--quality", type=int, default=94, help="JPEG quality")
    return parser


def main(args) -> None:
    """Write the compact copy to ``args.output``."""
    src, dst = Path(args.data_path), Path(args.output)
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "manifest.tsv", dst / "manifest.tsv")
    for sample in tqdm(load_manifest(src), desc="compact"):
        img = decode_image((src / sample.file).read_bytes())
        scale = args.max_short_side / min(img.size)
        if scale < 1:
            img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.BICUBIC)
        out = dst / sample.file
        out.parent.mkdir(parents=True, exist_ok=True)
        img.save(out, format="JPEG", quality=args.quality)


if __name__ == "__main__":
    main(get_args_parser().parse_args())
