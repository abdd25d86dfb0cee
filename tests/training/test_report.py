import numpy as np
import pytest
from matplotlib.image import imread

from training.metrics import binary_metrics
from training.report import (
    ablation_table,
    plot_confusion_matrix,
    plot_reliability,
    plot_roc,
    plot_training_curves,
    write_markdown_report,
)

Y = np.array([1] * 50 + [0] * 50)
PROB = np.array([0.9] * 40 + [0.2] * 10 + [0.7] * 5 + [0.1] * 45)  # TP 40, FN 10, FP 5, TN 45


def assert_png(path):
    assert path.exists()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0  # something was drawn


def test_plots_write_pngs(tmp_path):
    rows = [
        {
            "epoch": e,
            "stage": stage,
            "train_loss": 1.0 / e,
            "val_loss": 1.2 / e,
            "val_accuracy": 0.5 + e / 20,
            "val_roc_auc": None if e == 1 else 0.6 + e / 20,
            "lr": 1e-3,
        }
        for stage, epochs in (("head", (1, 2)), ("finetune", (1, 2, 3)))
        for e in epochs
    ]
    paths = [
        plot_confusion_matrix([[45, 5], [10, 40]], tmp_path / "cm.png", "test"),
        plot_roc({"no TTA": (Y, PROB), "TTA": (Y, PROB**0.9)}, tmp_path / "roc.png", "test"),
        plot_reliability(Y, PROB, tmp_path / "sub" / "rel.png", "test"),
        plot_training_curves(rows, tmp_path / "curves.png"),
    ]
    for path in paths:
        assert_png(path)


def test_plot_errors(tmp_path):
    with pytest.raises(ValueError):
        plot_confusion_matrix([[1, 2, 3]], tmp_path / "cm.png", "bad")
    with pytest.warns(UserWarning), pytest.raises(ValueError):
        plot_roc({"laundered": ([1, 1], [0.2, 0.9])}, tmp_path / "roc.png", "one class")
    with pytest.raises(ValueError):
        plot_training_curves([], tmp_path / "curves.png")


def test_markdown_report_contains_the_numbers(tmp_path):
    val = binary_metrics(Y, PROB, 0.5)
    laundered = binary_metrics([1] * 4, [0.9, 0.8, 0.3, 0.6], 0.47)
    metrics = {
        "run": "random",
        "checkpoint": "runs/random/best.pt",
        "split": {"name": "random", "description": "stratified random", "sizes": {"train": 1024, "val": 256}},
        "selection": {
            "chosen_on": "val",
            "tta_views": ["original", "hflip"],
            "threshold": 0.47,
            "uncertain_band": [0.3, 0.64],
        },
        "results": {"val": {"no_tta": val, "tta": val}, "test_laundered": {"tta": laundered}},
    }
    path = tmp_path / "report.md"
    text = write_markdown_report(metrics, path)
    assert path.read_text(encoding="utf-8") == text
    assert "Positive class: **AI**" in text
    assert "original, hflip" in text and "0.4700" in text and "[0.3000, 0.6400]" in text
    table = [line for line in text.splitlines() if line.startswith(("| val |", "| test_laundered |"))]
    assert len(table) == 3
    # accuracy, ROC AUC, AI precision, AI recall, human recall of the known set
    no_tta = table[0]
    for number in ("0.8500", f"{val['roc_auc']:.4f}", "0.8889", "0.8000", "0.9000"):
        assert number in no_tta
    assert "| test_laundered | yes | 4 | 0.7500 | n/a | n/a |" in text
    # confusion matrix rows: true human [45, 5], true AI [10, 40]
    assert "| human | 45 | 5 |" in text and "| AI | 10 | 40 |" in text
    assert "| AI | 1 | 3 |" in text


def test_ablation_table_percentages():
    rows = [
        {
            "model": "Baseline MobileNetV2",
            "split": "random",
            "accuracy": 0.91234,
            "roc_auc": 0.95,
            "ai_f1": 0.9,
            "human_f1": 0.92,
        },
        {
            "model": "+ SE attention + TTA",
            "split": "by-artist",
            "accuracy": 0.97,
            "roc_auc": None,
            "ai_f1": 0.96556,
            "human_f1": 1.0,
        },
    ]
    lines = ablation_table(rows).strip().splitlines()
    assert len(lines) == 4 and "Accuracy (%)" in lines[0]
    assert lines[2] == "| Baseline MobileNetV2 | random | 91.23 | 95.00 | 90.00 | 92.00 |"
    assert lines[3] == "| + SE attention + TTA | by-artist | 97.00 | n/a | 96.56 | 100.00 |"
