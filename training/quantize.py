"""INT8 static quantisation of the exported detector for the CPU, with its quality measured.

``python -m training.quantize --model backend/models/shinsaku-detector.onnx`` (or the card ``.json``)
writes ``shinsaku-detector-int8.onnx`` beside the FP32 model and rewrites the card's ``int8`` entry
(``backend.model_card.INT8_KEY``), so running it again after the model changes is all it takes.

- onnxruntime's ``quantize_static``: QDQ format, per-channel symmetric INT8 weights, UINT8
  activations, MinMax calibration; only ``Conv``, ``Gemm`` and ``MatMul`` are quantised, so the TTA
  views, normalisation, SE gates and the Platt-calibrated output probability stay in float (an 8-bit
  output would round probabilities to 1/255 and tie ROC ranks).
- Calibration on training images only (``../shared/data`` through ``training.data.load_data``), each
  preprocessed by the one contract ``backend.preprocessing.preprocess``.
- Quality is measured on images NOT used for calibration: the data's source groups (a source and
  every source it shares a near-duplicate with) are split in two by ``leave_source_out_folds``
  (2 folds); calibration images come from one part, the comparison runs on every image of the other.
  Reported: ROC AUC of FP32 and INT8 and their difference, label agreement (the card's threshold
  and uncertain band), probability differences. ``meets_bar``: ``|AUC diff| <= 0.003`` and labels
  agreeing on >= 99% of images (issue 9). The backend default stays ``fp32`` either way; serve INT8
  with ``SHINSAKU_PRECISION=int8``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from backend.model_card import INT8_KEY, ModelCard, card_path_for, file_sha256, load_card
from backend.preprocessing import preprocess

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OP_TYPES = ("Conv", "Gemm", "MatMul")
MAX_AUC_DIFF = 0.003  # issue 9: INT8 ROC AUC within this of FP32's
MIN_AGREEMENT = 0.99  # issue 9: labels agreeing on at least this share of images


def int8_path(card: ModelCard) -> Path:
    """Where the INT8 model goes: ``<fp32 stem>-int8.onnx`` beside the FP32 file."""
    return card.onnx_path.with_name(f"{card.onnx_path.stem}-int8.onnx")


class ArrayReader(CalibrationDataReader):
    """Calibration batches for onnxruntime: ``(B, 3, S, S)`` float32 slices of ``images``.

    ``__len__`` and ``set_range`` let ``quantize_static`` (``CalibStridedMinMax``) calibrate one
    stride of batches at a time and merge the ranges, so the activations it keeps are those of one
    stride, not of the whole calibration set (about 0.5 GB per batch of 8 for this model)."""

    def __init__(self, input_name: str, images: np.ndarray, batch_size: int = 8) -> None:
        self._all = [{input_name: images[i:i + batch_size]} for i in range(0, len(images), batch_size)]
        self._batches: Iterator[dict[str, np.ndarray]] = iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._batches = iter(self._all[start_index:end_index])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._batches, None)


def sensitive_nodes(model: onnx.ModelProto) -> list[str]:
    """Names of the nodes ``float_sensitive`` keeps in FP32: depthwise convolutions (``group`` > 1),
    the first and last convolution and every ``Gemm`` (the head). On the shipped MobileNetV2 these
    carried most of the INT8 error (README, issue 9 note)."""
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    depthwise = [n.name for n in convs if any(a.name == "group" and a.i > 1 for a in n.attribute)]
    ends = [convs[0].name, convs[-1].name] if convs else []
    return sorted(set(depthwise + ends + [n.name for n in model.graph.node if n.op_type == "Gemm"]))


def quantize(card: ModelCard, calibration: np.ndarray, output: Path, reduce_range: bool = False,
             batch_size: int = 8, float_sensitive: bool = False) -> Path:
    """Quantise ``card``'s FP32 model to ``output`` (static QDQ, per-channel INT8 weights, UINT8
    activations, MinMax ranges from ``calibration``: ``(N, 3, S, S)`` float32 in [0, 1]).
    ``reduce_range``: 7-bit weights, for CPUs without VNNI (avoids saturation there);
    ``float_sensitive``: keep ``sensitive_nodes`` in FP32. Returns ``output``. Raises onnxruntime's
    and onnx's exceptions on a model it cannot quantise."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(card.onnx_path), str(prepared), skip_symbolic_shape=True)
        exclude = sensitive_nodes(onnx.load(str(prepared))) if float_sensitive else None
        quantize_static(str(prepared), str(output), ArrayReader(card.input_name, calibration, batch_size),
                        quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=reduce_range,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=list(OP_TYPES), nodes_to_exclude=exclude,
                        calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False,
                                       "CalibStridedMinMax": 1})
    return output


def predict(model: Path, input_name: str, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """``(N,)`` float32 outputs of the ONNX model at ``model`` on ``images`` ``(N, 3, S, S)``, CPU."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return np.concatenate([np.asarray(session.run(None, {input_name: images[i:i + batch_size]})[0]).reshape(-1)
                           for i in range(0, len(images), batch_size)]).astype(np.float32)


def compare(card: ModelCard, fp32: np.ndarray, int8: np.ndarray, labels: np.ndarray) -> dict:
    """Quality of INT8 against FP32 on the same images: ``fp32``/``int8`` ``(N,)`` probabilities,
    ``labels`` ``(N,)`` int (1 = AI). ROC AUC needs both classes in ``labels``; label agreement uses
    ``card``'s threshold and uncertain band. Returns a JSON-ready dict with ``meets_bar``."""
    from sklearn.metrics import roc_auc_score

    auc32, auc8 = float(roc_auc_score(labels, fp32)), float(roc_auc_score(labels, int8))
    agree = float(np.mean([card.label(float(a)) == card.label(float(b)) for a, b in zip(fp32, int8)]))
    diff = np.abs(fp32.astype(np.float64) - int8)
    return {"images": len(labels), "ai": int(labels.sum()), "human": int(len(labels) - labels.sum()),
            "roc_auc_fp32": round(auc32, 6), "roc_auc_int8": round(auc8, 6), "roc_auc_diff": round(auc8 - auc32, 6),
            "label_agreement": round(agree, 6), "prob_abs_diff_mean": round(float(diff.mean()), 6),
            "prob_abs_diff_max": round(float(diff.max()), 6),
            "bar": {"max_abs_roc_auc_diff": MAX_AUC_DIFF, "min_label_agreement": MIN_AGREEMENT},
            "meets_bar": bool(abs(auc8 - auc32) <= MAX_AUC_DIFF and agree >= MIN_AGREEMENT)}


def write_entry(card: ModelCard, entry: dict) -> None:
    """Set the card's ``int8`` entry to ``entry`` (replacing any earlier one), keeping every other
    key as it is. The FP32 model's sha256 is of the ``.onnx`` file, so it is unchanged."""
    path = card_path_for(card.onnx_path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw[INT8_KEY] = entry
    path.write_text(json.dumps(raw, indent=2) + "\n", encoding="utf-8")


def load_images(paths: list[Path], card: ModelCard, threads: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 3, S, S)`` float32 inputs of the images at ``paths`` by ``backend.preprocessing.preprocess``
    under ``card``'s contract (input side, resize, ``jpeg_draft``) and the boolean ``(len(paths),)`` mask of those that decoded (others are skipped)."""
    def one(path: Path) -> np.ndarray | None:
        try:
            return preprocess(path.read_bytes(), card.size, card.resize, jpeg_draft=card.jpeg_draft)
        except Exception:  # noqa: BLE001 - an undecodable training image is left out, counted by the mask
            return None

    with ThreadPoolExecutor(max(1, threads)) as pool:
        arrays = list(pool.map(one, paths))
    ok = np.array([a is not None for a in arrays], dtype=bool)
    return np.stack([a for a in arrays if a is not None]).astype(np.float32), ok


def source_split(data: Path, seed: int = 0) -> tuple[list, np.ndarray, np.ndarray]:
    """The samples of ``data`` and two disjoint index arrays ``(calibration_part, comparison_part)``:
    the first fold of a 2-fold leave-source-out split over source groups (``training.data``)."""
    from training.data import (
        leave_source_out_folds,
        load_data,
        near_duplicate_groups,
        perceptual_hashes,
        source_groups,
    )

    samples = load_data([data])
    hashes = perceptual_hashes([data], samples, cache_dir=Path(".cache"))
    groups = source_groups(samples, near_duplicate_groups(hashes))
    labels = np.array([s.label for s in samples])
    calibration_part, comparison_part = leave_source_out_folds(labels, groups, n_splits=2, seed=seed)[0]
    return samples, calibration_part, comparison_part


def run(model: Path, data: Path = DATA, calibration_images: int = 256, max_compare: int | None = None,
        seed: int = 0, reduce_range: bool = False, threads: int = 2, float_sensitive: bool = False) -> dict:
    """Quantise the model at ``model`` (card or ``.onnx``), measure it, write the INT8 file and the
    card's entry; return the entry. ``calibration_images``: how many images of the calibration part
    (stratified by class, seeded); ``max_compare``: cap on comparison images (None: all);
    ``reduce_range``, ``float_sensitive``: as ``quantize``.
    Raises ``backend.model_card.ModelError`` for a bad model, ``FileNotFoundError`` without data."""
    from training.data import data_sha256

    card = load_card(model)
    samples, calib_part, compare_part = source_split(data, seed)
    rng = np.random.default_rng(seed)
    labels = np.array([s.label for s in samples])
    picked = np.concatenate([rng.permutation(calib_part[labels[calib_part] == c])[:calibration_images // 2]
                             for c in (0, 1)])
    if max_compare is not None and max_compare < len(compare_part):
        compare_part = np.sort(rng.permutation(compare_part)[:max_compare])
    print(f"calibration: {len(picked)} images of {len({samples[i].source for i in calib_part})} sources; "
          f"comparison: {len(compare_part)} images of {len({samples[i].source for i in compare_part})} other "
          f"sources", file=sys.stderr)
    calibration, _ = load_images([samples[i].path for i in picked], card, threads)
    output = quantize(card, calibration, int8_path(card), reduce_range=reduce_range,
                      float_sensitive=float_sensitive)
    held_out, ok = load_images([samples[i].path for i in compare_part], card, threads)
    quality = compare(card, predict(card.onnx_path, card.input_name, held_out),
                      predict(output, card.input_name, held_out), labels[compare_part][ok])
    entry = {
        "onnx_file": output.name, "sha256": file_sha256(output), "fp32_sha256": card.sha256,
        "method": "onnxruntime.quantization.quantize_static: QDQ, per-channel symmetric INT8 weights, "
                  f"UINT8 activations, MinMax calibration, ops {'/'.join(OP_TYPES)}"
                  f"{', reduce_range (7-bit weights)' if reduce_range else ''}"
                  f"{'; depthwise convs, first/last conv and Gemm kept FP32' if float_sensitive else ''}",
        "onnxruntime": ort.__version__,
        "calibration": {"images": len(calibration), "sources": sorted({samples[i].source for i in picked}),
                        "data_manifest_sha256": data_sha256([data]), "seed": seed,
                        "split": "fold 0 of leave_source_out_folds(n_splits=2) over source groups: "
                                 "calibration from one part, comparison on the other"},
        "comparison": {**quality, "sources": sorted({samples[i].source for i in compare_part}),
                       "protocol": "held-out sources: none of these images or their sources was used "
                                   "for calibration"},
    }
    write_entry(card, entry)
    return entry


def get_args_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m training.quantize``."""
    parser = argparse.ArgumentParser(description="INT8 static quantisation of the detector, measured "
                                                 "against FP32 on held-out sources.")
    parser.add_argument("--model", default="backend/models/shinsaku-detector.onnx",
                        help="the FP32 model (.onnx) or its card (.json)")
    parser.add_argument("--data-path", type=Path, default=DATA, help="training data root (manifest.tsv)")
    parser.add_argument("--calibration-images", type=int, default=256, help="calibration images (half per class)")
    parser.add_argument("--max-compare", type=int, default=None, help="cap on comparison images (default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reduce-range", action="store_true", help="7-bit weights for CPUs without VNNI")
    parser.add_argument("--threads", type=int, default=2, help="decoding threads")
    parser.add_argument("--float-sensitive", action="store_true",
                        help="keep depthwise convs, the first/last conv and the head's Gemm in FP32")
    return parser


def main(args: argparse.Namespace) -> int:
    """Run ``run`` and print the entry's comparison; returns 0."""
    entry = run(Path(args.model), args.data_path, args.calibration_images, args.max_compare, args.seed,
                args.reduce_range, args.threads, args.float_sensitive)
    q = entry["comparison"]
    print(f"int8: {entry['onnx_file']} sha256 {entry['sha256'][:16]}; on {q['images']} held-out images of "
          f"{len(q['sources'])} sources: ROC AUC fp32 {q['roc_auc_fp32']:.4f}, int8 {q['roc_auc_int8']:.4f} "
          f"(diff {q['roc_auc_diff']:+.4f}); labels agree {q['label_agreement']:.2%}; "
          f"|p diff| mean {q['prob_abs_diff_mean']:.4f}, max {q['prob_abs_diff_max']:.4f}; "
          f"meets the bar (|diff| <= {MAX_AUC_DIFF}, agreement >= {MIN_AGREEMENT:.0%}): {q['meets_bar']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
