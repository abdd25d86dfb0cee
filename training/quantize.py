"""Reduced-precision variants of the exported detector, each with its quality measured against FP32:
INT8 static quantisation for the CPU, FP16 for the GPU.

``python -m training.quantize --model backend/models/shinsaku-detector.onnx [--precision int8|fp16]``
(or the card ``.json``; default ``int8``) writes ``shinsaku-detector-<precision>.onnx`` beside the
FP32 model and rewrites the card's entry under the precision's name (``int8`` / ``fp16``, as
``backend.model_card.PRECISIONS``), so running it again after the model changes is all it takes.

INT8:

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

FP16 (``to_fp16``): onnxconverter-common's ``convert_float_to_float16`` with ``keep_io_types``, so the
model still takes float32 ``(B, 3, S, S)`` in [0, 1] and returns float32 ``(B,)`` probabilities. No
calibration; the comparison runs on the same held-out part of the same split as INT8's (same seed,
same ``--max-compare``: the same images), on onnxruntime's CPU provider, against the same bar. Serve it
with ``SHINSAKU_PRECISION=fp16`` on the CUDA provider (on the CPU it is slower than FP32).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
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

from backend.model_card import PRECISIONS, ModelCard, ModelError, card_path_for, file_sha256, load_card
from backend.preprocessing import preprocess

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
OP_TYPES = ("Conv", "Gemm", "MatMul")
MAX_AUC_DIFF = 0.003  # issue 9: the variant's ROC AUC within this of FP32's
MIN_AGREEMENT = 0.99  # issue 9: labels agreeing on at least this share of images
#: The precisions this module makes (every one of the backend's but the card's own fp32).
VARIANTS = tuple(p for p in PRECISIONS if p != "fp32")
SPLIT = "fold 0 of leave_source_out_folds(n_splits=2) over source groups"


def _check_variant(precision: str) -> None:
    """Raise ``ValueError`` unless ``precision`` is one of ``VARIANTS``."""
    if precision not in VARIANTS:
        raise ValueError(f"precision must be one of {', '.join(VARIANTS)}, got {precision!r}")


def variant_path(card: ModelCard, precision: str) -> Path:
    """Where the ``precision`` model goes: ``<fp32 stem>-<precision>.onnx`` beside the FP32 file
    (``shinsaku-detector-int8.onnx``, ``shinsaku-detector-fp16.onnx``). Raises ``ValueError`` for a
    precision not in ``VARIANTS``."""
    _check_variant(precision)
    return card.onnx_path.with_name(f"{card.onnx_path.stem}-{precision}.onnx")


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


def to_fp16(card: ModelCard, output: Path) -> Path:
    """Convert ``card``'s FP32 model to FP16 at ``output``: onnxconverter-common's
    ``convert_float_to_float16(keep_io_types=True)`` makes weights and activations float16 and puts a
    Cast at each end, so the input stays float32 ``(B, 3, S, S)`` in [0, 1] and the output float32
    ``(B,)``, as the backend feeds and reads the FP32 model. Every node is converted, the TTA mean,
    Platt scaling and sigmoid too. Measured on model 2.1.0 (160 images of its data): keeping that
    tail float32 (``node_block_list``) gave the same ROC AUC (to 1e-6) and the same largest
    probability difference from FP32 (0.027) as converting it, so the difference comes from the
    trunk; and onnxconverter-common 1.16, asked to keep the node that writes the graph output in
    float32, declares that output float16. Weights whose magnitude lies outside [1e-7, 1e4] are
    clamped into it by the converter; its per-tensor warnings are summed up in one line on stderr.
    Returns ``output``.

    Raises:
        ModelError: the converted model's input or output is not float32 (the contract would break).
        ValueError: the model is float16 already (onnxconverter-common). onnx's exceptions on a model
            it cannot load, convert or save.
    """
    from onnxconverter_common import float16

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = float16.convert_float_to_float16(onnx.load(str(card.onnx_path)), keep_io_types=True)
    truncated = [str(w.message) for w in caught if "truncated" in str(w.message)]
    for w in caught:
        if "truncated" not in str(w.message):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if truncated:
        print(f"fp16: {len(truncated)} clampings of weight values outside float16's usable range "
              f"[1e-7, 1e4] in magnitude (e.g. {truncated[0]})", file=sys.stderr)
    ends = {v.name: v.type.tensor_type.elem_type for v in [*model.graph.input, *model.graph.output]}
    wrong = {name: elem for name, elem in ends.items() if elem != onnx.TensorProto.FLOAT}
    if wrong:
        raise ModelError(f"the FP16 conversion changed the type of graph inputs/outputs {wrong} "
                         "(ONNX element types); the backend needs float32 in and out")
    output.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(output))
    return output


def predict(model: Path, input_name: str, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """``(N,)`` float32 outputs of the ONNX model at ``model`` on ``images`` ``(N, 3, S, S)``, CPU."""
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return np.concatenate([np.asarray(session.run(None, {input_name: images[i:i + batch_size]})[0]).reshape(-1)
                           for i in range(0, len(images), batch_size)]).astype(np.float32)


def compare(card: ModelCard, fp32: np.ndarray, reduced: np.ndarray, labels: np.ndarray,
            precision: str = "int8") -> dict:
    """Quality of a reduced-precision variant against FP32 on the same images: ``fp32``/``reduced``
    ``(N,)`` probabilities, ``labels`` ``(N,)`` int (1 = AI); ``precision`` names the variant's keys
    (``roc_auc_int8``, ``roc_auc_fp16``). ROC AUC needs both classes in ``labels`` (sklearn raises
    ``ValueError`` otherwise, and for non-finite probabilities); label agreement uses ``card``'s
    threshold and uncertain band. Returns a JSON-ready dict with ``meets_bar``."""
    from sklearn.metrics import roc_auc_score

    auc32, auc = float(roc_auc_score(labels, fp32)), float(roc_auc_score(labels, reduced))
    agree = float(np.mean([card.label(float(a)) == card.label(float(b)) for a, b in zip(fp32, reduced)]))
    diff = np.abs(fp32.astype(np.float64) - reduced)
    return {"images": len(labels), "ai": int(labels.sum()), "human": int(len(labels) - labels.sum()),
            "roc_auc_fp32": round(auc32, 6), f"roc_auc_{precision}": round(auc, 6),
            "roc_auc_diff": round(auc - auc32, 6),
            "label_agreement": round(agree, 6), "prob_abs_diff_mean": round(float(diff.mean()), 6),
            "prob_abs_diff_max": round(float(diff.max()), 6),
            "bar": {"max_abs_roc_auc_diff": MAX_AUC_DIFF, "min_label_agreement": MIN_AGREEMENT},
            "meets_bar": bool(abs(auc - auc32) <= MAX_AUC_DIFF and agree >= MIN_AGREEMENT)}


def write_entry(card: ModelCard, entry: dict, precision: str = "int8") -> None:
    """Set the card's ``precision`` entry (``int8`` | ``fp16``) to ``entry`` (replacing any earlier
    one), keeping every other key as it is. The FP32 model's sha256 is of the ``.onnx`` file, so it
    is unchanged. Raises ``ValueError`` for a precision not in ``VARIANTS``, ``OSError`` and
    ``json.JSONDecodeError`` for an unreadable card."""
    _check_variant(precision)
    path = card_path_for(card.onnx_path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw[precision] = entry
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
        seed: int = 0, reduce_range: bool = False, threads: int = 2, float_sensitive: bool = False,
        precision: str = "int8") -> dict:
    """Make the ``precision`` variant (``int8`` | ``fp16``) of the model at ``model`` (card or
    ``.onnx``), measure it on the held-out part of ``source_split``, write its file
    (``variant_path``) and the card's entry; return the entry. ``max_compare``: cap on comparison
    images (None: all; the same seed and cap give INT8 and FP16 the same images). INT8 only:
    ``calibration_images``, how many images of the calibration part (stratified by class, seeded);
    ``reduce_range``, ``float_sensitive`` as ``quantize``.
    Raises ``ValueError`` for another precision, ``backend.model_card.ModelError`` for a bad model,
    ``FileNotFoundError`` without data."""
    from training.data import data_sha256

    card = load_card(model)
    output = variant_path(card, precision)  # ValueError before the data is read
    samples, calib_part, compare_part = source_split(data, seed)
    rng = np.random.default_rng(seed)
    labels = np.array([s.label for s in samples])
    # drawn for FP16 too, so that the rng, hence a --max-compare subset, is the same for both
    picked = np.concatenate([rng.permutation(calib_part[labels[calib_part] == c])[:calibration_images // 2]
                             for c in (0, 1)])
    if max_compare is not None and max_compare < len(compare_part):
        compare_part = np.sort(rng.permutation(compare_part)[:max_compare])
    sources = {samples[i].source for i in compare_part}
    print(f"{precision}: comparison on {len(compare_part)} images of {len(sources)} sources, held out from "
          f"the {len({samples[i].source for i in calib_part})} sources of the calibration part",
          file=sys.stderr)
    data_manifest = data_sha256([data])
    if precision == "int8":
        calibration, _ = load_images([samples[i].path for i in picked], card, threads)
        quantize(card, calibration, output, reduce_range=reduce_range, float_sensitive=float_sensitive)
        made = {"method": "onnxruntime.quantization.quantize_static: QDQ, per-channel symmetric INT8 "
                          f"weights, UINT8 activations, MinMax calibration, ops {'/'.join(OP_TYPES)}"
                          f"{', reduce_range (7-bit weights)' if reduce_range else ''}"
                          f"{'; depthwise convs, first/last conv and Gemm kept FP32' if float_sensitive else ''}",
                "onnxruntime": ort.__version__,
                "calibration": {"images": len(calibration),
                                "sources": sorted({samples[i].source for i in picked}),
                                "data_manifest_sha256": data_manifest, "seed": seed,
                                "split": f"{SPLIT}: calibration from one part, comparison on the other"}}
        protocol = "held-out sources: none of these images or their sources was used for calibration"
    else:
        import onnxconverter_common

        to_fp16(card, output)
        made = {"method": "onnxconverter_common.float16.convert_float_to_float16(keep_io_types=True): "
                          "float16 weights and activations, every node; float32 input and output",
                "onnxruntime": ort.__version__, "onnxconverter_common": onnxconverter_common.__version__}
        protocol = ("held-out sources: the comparison part of the INT8 entry's split (FP16 needs no "
                    "calibration); both models on onnxruntime's CPU provider")
    held_out, ok = load_images([samples[i].path for i in compare_part], card, threads)
    quality = compare(card, predict(card.onnx_path, card.input_name, held_out),
                      predict(output, card.input_name, held_out), labels[compare_part][ok], precision)
    entry = {"onnx_file": output.name, "sha256": file_sha256(output), "fp32_sha256": card.sha256, **made,
             "comparison": {**quality, "sources": sorted(sources), "protocol": protocol,
                            "split": SPLIT, "data_manifest_sha256": data_manifest, "seed": seed}}
    write_entry(card, entry, precision)
    return entry


def get_args_parser() -> argparse.ArgumentParser:
    """Arguments of ``python -m training.quantize``."""
    parser = argparse.ArgumentParser(description="Reduced-precision variants of the detector (INT8 static "
                                                 "quantisation, FP16), measured against FP32 on held-out "
                                                 "sources.")
    parser.add_argument("--model", default="backend/models/shinsaku-detector.onnx",
                        help="the FP32 model (.onnx) or its card (.json)")
    parser.add_argument("--precision", choices=VARIANTS, default="int8",
                        help="int8 (CPU, calibrated) or fp16 (GPU); default int8")
    parser.add_argument("--data-path", type=Path, default=DATA, help="training data root (manifest.tsv)")
    parser.add_argument("--calibration-images", type=int, default=256,
                        help="int8: calibration images (half per class)")
    parser.add_argument("--max-compare", type=int, default=None, help="cap on comparison images (default all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reduce-range", action="store_true", help="int8: 7-bit weights for CPUs without VNNI")
    parser.add_argument("--threads", type=int, default=2, help="decoding threads")
    parser.add_argument("--float-sensitive", action="store_true",
                        help="int8: keep depthwise convs, the first/last conv and the head's Gemm in FP32")
    return parser


def main(args: argparse.Namespace) -> int:
    """Run ``run`` and print the entry's comparison; returns 0."""
    precision = args.precision
    entry = run(Path(args.model), args.data_path, args.calibration_images, args.max_compare, args.seed,
                args.reduce_range, args.threads, args.float_sensitive, precision)
    q = entry["comparison"]
    print(f"{precision}: {entry['onnx_file']} sha256 {entry['sha256'][:16]}; on {q['images']} held-out images "
          f"of {len(q['sources'])} sources: ROC AUC fp32 {q['roc_auc_fp32']:.4f}, {precision} "
          f"{q[f'roc_auc_{precision}']:.4f} (diff {q['roc_auc_diff']:+.4f}); "
          f"labels agree {q['label_agreement']:.2%}; "
          f"|p diff| mean {q['prob_abs_diff_mean']:.4f}, max {q['prob_abs_diff_max']:.4f}; "
          f"meets the bar (|diff| <= {MAX_AUC_DIFF}, agreement >= {MIN_AGREEMENT:.0%}): {q['meets_bar']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(get_args_parser().parse_args()))
