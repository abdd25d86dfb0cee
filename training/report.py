"""Plots (PNG, matplotlib Agg backend) and markdown reports for evaluation results.

Labels follow ``training.metrics``: 0 = human, 1 = AI; AI is the positive class and ``prob`` is
the probability of AI. Figures are drawn on an explicit Agg canvas, so no display and no global
pyplot state are needed.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import roc_auc_score, roc_curve

from training.metrics import CLASS_NAMES, _check_inputs, calibration_bins, expected_calibration_error

TTA_VARIANTS = (("no_tta", "no"), ("tta", "yes"))


def _new_figure(nrows: int = 1, ncols: int = 1, figsize=(5.0, 4.5), **kwargs):
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kwargs)


def _save(fig: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=120)
    return path


def plot_confusion_matrix(cm, path, title: str) -> Path:
    """Save a 2x2 confusion matrix as an annotated heat map (PNG).

    cm: 2x2 int list/array, rows = true [human, ai], cols = predicted [human, ai].
    Returns the written path. Raises ValueError if cm is not 2x2.
    """
    cm = np.asarray(cm)
    if cm.shape != (2, 2):
        raise ValueError(f"cm must be 2x2, got shape {cm.shape}")
    fig, axes = _new_figure()
    ax = axes[0, 0]
    ax.imshow(cm, cmap="Blues")
    for (i, j), count in np.ndenumerate(cm):
        color = "white" if count > cm.max() / 2 else "black"
        ax.text(j, i, str(count), ha="center", va="center", color=color, fontsize=14)
    ax.set_xticks([0, 1], CLASS_NAMES)
    ax.set_yticks([0, 1], CLASS_NAMES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return _save(fig, path)


def plot_roc(curves: dict, path, title: str) -> Path:
    """Save ROC curves (PNG), one line per entry with its ROC AUC in the legend.

    curves: name -> (y_true (N,) int in {0, 1}, prob (N,) float in [0, 1], probability of AI).
    Entries with a single class (ROC undefined) are skipped with a warning.
    Returns the written path. Raises ValueError on invalid inputs or if no entry can be drawn.
    """
    fig, axes = _new_figure()
    ax = axes[0, 0]
    drawn = 0
    for name, (y_true, prob) in curves.items():
        y, p = _check_inputs(y_true, prob)
        if len(np.unique(y)) < 2:
            warnings.warn(f"ROC of {name!r} skipped: only one class present", stacklevel=2)
            continue
        fpr, tpr, _ = roc_curve(y, p)
        ax.plot(fpr, tpr, label=f"{name} (AUC = {roc_auc_score(y, p):.4f})")
        drawn += 1
    if not drawn:
        raise ValueError("no ROC curve to draw: every entry has a single class")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1)
    ax.set_xlabel("false positive rate (human called AI)")
    ax.set_ylabel("true positive rate (AI recall)")
    ax.set_title(title)
    ax.legend(loc="lower right")
    return _save(fig, path)


def plot_reliability(y_true, prob, path, title: str, n_bins: int = 15) -> Path:
    """Save a reliability diagram (PNG) of the probability of AI.

    Top: fraction of AI examples vs mean probability of AI per equal-width bin, with the
    diagonal of perfect calibration and the expected calibration error in the title.
    Bottom: examples per bin. Args as in ``training.metrics.expected_calibration_error``.
    Returns the written path. Raises ValueError on invalid inputs.
    """
    frac_ai, mean_prob, count = calibration_bins(y_true, prob, n_bins)
    ece = expected_calibration_error(y_true, prob, n_bins)
    fig, axes = _new_figure(2, 1, figsize=(5.0, 6.0), sharex=True, height_ratios=[3, 1])
    top, bottom = axes[0, 0], axes[1, 0]
    top.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=1, label="perfectly calibrated")
    top.plot(mean_prob, frac_ai, marker="o", label="model")
    top.set_ylabel("fraction AI (accuracy)")
    top.set_title(f"{title} (ECE = {ece:.4f})")
    top.legend(loc="upper left")
    bottom.bar(mean_prob, count, width=1.0 / n_bins, edgecolor="black")
    bottom.set_xlabel("mean probability of AI (confidence)")
    bottom.set_ylabel("examples")
    bottom.set_xlim(0, 1)
    return _save(fig, path)


def plot_training_curves(log_rows: list[dict], path) -> Path:
    """Save training curves (PNG): losses (left) and validation accuracy / ROC AUC (right).

    log_rows: one dict per epoch, in training order, with keys ``epoch``, ``stage``,
    ``train_loss``, ``val_loss``, ``val_accuracy``, ``val_roc_auc`` (None allowed) and ``lr``.
    The x axis counts epochs over all stages; dotted lines mark where a new stage starts.
    Returns the written path. Raises ValueError on empty log_rows, KeyError on a missing key.
    """
    if not log_rows:
        raise ValueError("log_rows is empty")

    def column(key):
        return [math.nan if row[key] is None else float(row[key]) for row in log_rows]

    x = np.arange(1, len(log_rows) + 1)
    fig, axes = _new_figure(1, 2, figsize=(10.0, 4.0))
    losses, scores = axes[0, 0], axes[0, 1]
    losses.plot(x, column("train_loss"), marker=".", label="train loss")
    losses.plot(x, column("val_loss"), marker=".", label="val loss")
    losses.set_ylabel("loss")
    scores.plot(x, column("val_accuracy"), marker=".", label="val accuracy")
    scores.plot(x, column("val_roc_auc"), marker=".", label="val ROC AUC")
    scores.set_ylabel("score")
    for ax in (losses, scores):
        for i in range(1, len(log_rows)):
            if log_rows[i]["stage"] != log_rows[i - 1]["stage"]:
                ax.axvline(x[i] - 0.5, color="grey", linestyle=":", linewidth=1)
        ax.set_xlabel("epoch (all stages)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    stages = " -> ".join(dict.fromkeys(str(row["stage"]) for row in log_rows))
    fig.suptitle(f"training ({stages})")
    return _save(fig, path)


def _fmt(value, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pct(value) -> str:
    return "n/a" if value is None else f"{100.0 * value:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def write_markdown_report(metrics: dict, path) -> str:
    """Write the evaluation report (markdown) for the dict that ``evaluate`` saves as metrics.json.

    metrics: {"run", "checkpoint", "split": {"name", "description", "sizes"},
    "selection": {"chosen_on", "tta_views", "threshold", "uncertain_band"},
    "results": {result_set: {"no_tta"|"tta": binary_metrics dict}}}.
    The report has the selection, one table row per (result set, with/without TTA) and the
    confusion matrices; numbers are printed with 4 decimals ("n/a" for None).
    Returns the markdown text. Raises KeyError when a required key is missing.
    """
    split, selection = metrics["split"], metrics["selection"]
    lines = [
        f"# Shinsaku evaluation: run `{metrics['run']}`",
        "",
        f"- Checkpoint: `{metrics['checkpoint']}`",
        f"- Split: `{split['name']}`: {split.get('description', '')}",
        "- Sizes: " + ", ".join(f"{k} {v}" for k, v in split.get("sizes", {}).items()),
        "- Positive class: **AI** (label 1); probability = probability of AI; precision/recall/F1 per class.",
        "",
        f"## Selection (chosen on `{selection['chosen_on']}`)",
        "",
        f"- TTA views: {', '.join(selection['tta_views'])}",
        f"- Threshold: {_fmt(selection['threshold'])} (AI when probability >= threshold)",
        "- Uncertain band: [" + ", ".join(_fmt(v) for v in selection["uncertain_band"]) + "]",
        "",
        "## Results",
        "",
    ]
    header = ["set", "TTA", "n", "accuracy", "ROC AUC", "AP", "ECE"] + [
        f"{c} {s}" for c in ("AI", "human") for s in ("precision", "recall", "F1")
    ]
    rows, matrices = [], []
    for set_name, variants in metrics["results"].items():
        for key, tta in TTA_VARIANTS:
            if key not in variants:
                continue
            m = variants[key]
            ai, human = m["per_class"]["ai"], m["per_class"]["human"]
            rows.append(
                [
                    set_name,
                    tta,
                    str(m["n"]),
                    _fmt(m["accuracy"]),
                    _fmt(m["roc_auc"]),
                    _fmt(m["average_precision"]),
                    _fmt(m["ece"]),
                    *(_fmt(c[s]) for c in (ai, human) for s in ("precision", "recall", "f1")),
                ]
            )
            (tn, fp), (fn, tp) = m["confusion_matrix"]
            matrices += [
                f"### {set_name}, TTA {tta} (threshold {_fmt(m['threshold'])})",
                "",
                *_table(
                    ["true \\ predicted", "human", "AI"],
                    [["human", str(tn), str(fp)], ["AI", str(fn), str(tp)]],
                ),
                "",
            ]
    lines += _table(header, rows) + ["", "## Confusion matrices", ""] + matrices
    text = "\n".join(lines)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")
    return text


def ablation_table(rows: list[dict]) -> str:
    """Markdown ablation table in the form of Table 5 of the seed paper (Vu 2025).

    rows: dicts with "model" (e.g. "Baseline MobileNetV2", "+ SE attention",
    "+ SE attention + TTA"), "split" (str) and "accuracy", "roc_auc", "ai_f1", "human_f1"
    (floats in [0, 1] or None). Values are printed as percentages with 2 decimals, in row order.
    Returns the markdown string. Raises KeyError when a key is missing.
    """
    header = ["Model", "Split", "Accuracy (%)", "ROC AUC (%)", "AI F1 (%)", "Human F1 (%)"]
    body = [
        [
            row["model"],
            str(row["split"]),
            *(_pct(row[k]) for k in ("accuracy", "roc_auc", "ai_f1", "human_f1")),
        ]
        for row in rows
    ]
    return "\n".join(_table(header, body)) + "\n"
