import json

import numpy as np
import pytest
from matplotlib.image import imread
from PIL import Image

from training.data import Sample
from training.report import ablation_table, contact_sheet, plot_reliability, plot_roc, write_markdown_report

Y = np.array([1] * 50 + [0] * 50)
PROB = np.array([0.9] * 40 + [0.2] * 10 + [0.7] * 5 + [0.1] * 45)  # TP 40, FN 10, FP 5, TN 45


def assert_png(path):
    assert path.exists()
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0  # something was drawn


def test_plots_write_pngs(tmp_path):
    for path in (plot_roc({"plain": (Y, PROB), "laundered": (Y, PROB**0.9)}, tmp_path / "roc.png", "test"),
                 plot_reliability(Y, PROB, tmp_path / "sub" / "rel.png", "test")):
        assert_png(path)


def test_plot_errors(tmp_path):
    with pytest.warns(UserWarning), pytest.raises(ValueError):
        plot_roc({"laundered": ([1, 1], [0.2, 0.9])}, tmp_path / "roc.png", "one class")


def test_contact_sheet_draws_readable_and_unreadable_files(tmp_path):
    Image.new("RGB", (300, 200), (200, 30, 30)).save(tmp_path / "a.png")
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    entries = [(Sample("a.png", 0, "src-a", tmp_path), 0.97, "ai"),
               (Sample("broken.jpg", 1, "src-b", tmp_path), 0.12, "human")]
    assert_png(contact_sheet(entries, tmp_path / "sheet.png", "worst"))
    with pytest.raises(ValueError):
        contact_sheet([], tmp_path / "empty.png", "none")


def _entry(mean, std=0.0):
    return {"mean": mean, "std": std, "folds": 5}


SUMMARY = {"false_accusation_rate": _entry(0.031, 0.02), "ai_recall": _entry(0.9), "share_uncertain": _entry(0.08),
           "accuracy": _entry(0.88), "roc_auc": _entry(0.9512, 0.01), "average_precision": _entry(0.93),
           "ece": _entry(0.05)}


def test_markdown_report_leads_with_the_false_accusation_rate(tmp_path):
    selection = {"chosen_on": "inner folds", "tta_views": ["original", "hflip"], "threshold": 0.47,
                 "uncertain_band": [0.3, 0.47], "platt": [1.2, -0.1]}
    fold = {"fold": 0, "test_sources": ["s1", "s2"], "selection": selection,
            "test": {"n": 40, "false_accusation_rate": 0.05, "ai_recall": 0.8, "share_uncertain": 0.1,
                     "accuracy": 0.85, "roc_auc": 0.93}, "test_laundered": {"roc_auc": 0.91}}
    per_source = [{"source": "s1", "class": "human", "n": 20, "fold": 0, "labelled_ai": 0.1,
                   "labelled_uncertain": 0.05, "labelled_human": 0.85, "mean_probability_ai": 0.2}]
    metrics = {"checkpoint": "runs/ship/best.pth", "n_images": 40, "recipe": {"head": "dense"},
               "selection": selection,
               "protocols": {"leave-source-out": {"summary": {"test": SUMMARY}, "folds": [fold],
                                                  "per_source": per_source}}}
    path = tmp_path / "report.md"
    text = write_markdown_report(json.loads(json.dumps(metrics)), path)
    assert path.read_text(encoding="utf-8") == text
    header = next(line for line in text.splitlines() if line.startswith("| protocol"))
    assert header.index("false accusation rate") < header.index("accuracy") < header.index("ROC AUC")
    assert "| leave-source-out | test | 5 | 3.1 ± 2.0 | 90.0 ± 0.0 |" in text
    assert "0.9512 ± 0.0100" in text
    assert "| 0 | 40 | 5.00 | 80.00 | 10.00 | 85.00 | 0.9300 | 0.9100 | 0.4700 | s1, s2 |" in text
    assert "| s1 | human | 20 | 0 | 10.00 | 5.00 | 85.00 | 0.200 |" in text
    with pytest.raises(KeyError):
        write_markdown_report({"selection": selection}, tmp_path / "bad.md")


def test_ablation_table_percentages():
    rows = [{"model": "SE + dense head", "validation": 0.41234, "summary": SUMMARY, "random_accuracy": 0.97},
            {"model": "baseline head", "validation": None, "summary": SUMMARY}]
    lines = ablation_table(rows).strip().splitlines()
    assert len(lines) == 4 and "false accusation rate (%)" in lines[0]
    assert lines[2] == ("| SE + dense head | 41.23 | 3.1 ± 2.0 | 90.0 ± 0.0 | 8.0 ± 0.0 | 88.0 ± 0.0 | "
                        "0.9512 ± 0.0100 | 97.00 |")
    assert lines[3].startswith("| baseline head | n/a |") and lines[3].endswith("| n/a |")
