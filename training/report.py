"""Plots (PNG, matplotlib Agg backend) and markdown reports for evaluation results.

Labels follow ``training.metrics``: 0 = human, 1 = AI; AI is the positive class and ``prob`` is
the probability of AI. Figures are drawn on an explicit Agg canvas, so no display and no global
pyplot state are needed.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from training.metrics import _check_inputs, calibration_bins, expected_calibration_error


def _new_figure(nrows: int = 1, ncols: int = 1, figsize=(5.0, 4.5), **kwargs):
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(nrows, ncols, squeeze=False, **kwargs)


def _save(fig: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=120)
    return path


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


def _fmt(value, digits: int = 4) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _pct(value) -> str:
    return "n/a" if value is None else f"{100.0 * value:.2f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _mean_std(entry: dict, pct: bool) -> str:
    if entry["mean"] is None:
        return "n/a"
    if pct:
        return f"{100 * entry['mean']:.1f} ± {100 * entry['std']:.1f}"
    return f"{entry['mean']:.4f} ± {entry['std']:.4f}"


#: Report columns: metric key, header, shown as a percentage.
SUMMARY_COLUMNS = (("false_accusation_rate", "false accusation rate (%)", True),
                   ("ai_recall", "AI recall (%)", True), ("share_uncertain", "uncertain (%)", True),
                   ("accuracy", "accuracy (%)", True), ("roc_auc", "ROC AUC", False),
                   ("average_precision", "AP", False), ("ece", "ECE", False))


def summary_rows(metrics: dict) -> list[list[str]]:
    """One row per (protocol, result set) of an evaluate ``metrics.json`` dict: mean ± std over folds."""
    rows = []
    for name, result in metrics["protocols"].items():
        for set_name, summary in result["summary"].items():
            folds = summary["accuracy"]["folds"]
            rows.append([name, set_name, str(folds),
                         *(_mean_std(summary[key], pct) for key, _, pct in SUMMARY_COLUMNS)])
    return rows


def write_markdown_report(metrics: dict, path) -> str:
    """Write the evaluation report (markdown) for the dict that ``evaluate`` saves as metrics.json
    (``training.evaluate.EvaluationReport``): the recipe, the shipped selection, the summary table
    (false accusation rate first), per-fold rows and the per-source table, worst sources first.
    Returns the markdown text. Raises KeyError when a required key is missing."""
    sel = metrics["selection"]
    lines = [
        "# Shinsaku evaluation",
        "",
        f"- Checkpoint: `{metrics['checkpoint']}` ({metrics['n_images']} images)",
        "- Positive class: **AI**; false accusation rate = share of human images labelled AI.",
        f"- Recipe: `{json.dumps(metrics['recipe'])}`",
        (f"- Shipped selection (chosen on {sel['chosen_on']}): TTA views {', '.join(sel['tta_views'])}; "
         f"threshold {_fmt(sel['threshold'])}; uncertain band [{_fmt(sel['uncertain_band'][0])}, "
         f"{_fmt(sel['uncertain_band'][1])}); Platt a={_fmt(sel['platt'][0])}, b={_fmt(sel['platt'][1])}"),
        "",
        "## Summary (mean ± std over folds; each fold's selection chosen without its test sources)",
        "",
        *_table(["protocol", "set", "folds", *(h for _, h, _ in SUMMARY_COLUMNS)], summary_rows(metrics)),
        "",
    ]
    for name, result in metrics["protocols"].items():
        lines += [f"## {name}: folds", ""]
        rows = [[str(f["fold"]), str(f["test"]["n"]), _pct(f["test"]["false_accusation_rate"]),
                 _pct(f["test"]["ai_recall"]), _pct(f["test"]["share_uncertain"]), _pct(f["test"]["accuracy"]),
                 _fmt(f["test"]["roc_auc"]), _fmt(f["test_laundered"]["roc_auc"]), _fmt(f["selection"]["threshold"]),
                 ", ".join(f["test_sources"][:6]) + (" ..." if len(f["test_sources"]) > 6 else "")]
                for f in result["folds"]]
        lines += _table(["fold", "n", "false acc. (%)", "AI recall (%)", "uncertain (%)", "accuracy (%)",
                         "ROC AUC", "laundered ROC AUC", "threshold", "test sources"], rows) + [""]
        lines += [f"## {name}: per source (worst first)", ""]
        rows = [[r["source"], r["class"], str(r["n"]), str(r["fold"]), _pct(r["labelled_ai"]),
                 _pct(r["labelled_uncertain"]), _pct(r["labelled_human"]), _fmt(r["mean_probability_ai"], 3)]
                for r in result["per_source"]]
        lines += _table(["source", "class", "n", "fold", "labelled AI (%)", "uncertain (%)", "human (%)",
                         "mean P(AI)"], rows) + [""]
    text = "\n".join(lines)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(text, encoding="utf-8")
    return text


def contact_sheet(entries: list, path, title: str, columns: int = 6, thumb_px: int = 160) -> Path:
    """Save a contact sheet (PNG): a grid of thumbnails, each captioned with its probability of AI,
    label and source.

    entries: ``(sample, probability_ai, label)`` with ``sample`` a ``training.data.Sample``; an
    unreadable file is drawn as an empty cell. Returns the written path. Raises ValueError when
    ``entries`` is empty."""
    from backend.preprocessing import ImageError, decode_image

    if not entries:
        raise ValueError("no entries for the contact sheet")
    rows = math.ceil(len(entries) / columns)
    fig, axes = _new_figure(rows, columns, figsize=(2.2 * columns, 2.5 * rows))
    for ax in axes.flat:
        ax.axis("off")
    for ax, (sample, prob, label) in zip(axes.flat, entries):
        try:
            img = decode_image(sample.path.read_bytes())
            img.thumbnail((thumb_px, thumb_px))
            ax.imshow(np.asarray(img))
        except (ImageError, OSError):
            pass
        ax.set_title(f"P(AI) {prob:.3f} ({label})\n{sample.source[:28]}", fontsize=7)
    fig.suptitle(title)
    return _save(fig, path)


def ablation_table(rows: list[dict]) -> str:
    """Markdown ablation table (after Vu 2025, Table 5, measured by the leave-source-out protocol).

    rows: dicts with "model" (str), "validation" (the choosing criterion: mean over folds of the
    out-of-fold validation AI recall at the false-accusation target, float or None) and "summary"
    (a protocol's ``summary["test"]``: metric -> {"mean", "std"}), plus optional "random_accuracy".
    Values print as percentages (ROC AUC with 4 decimals), in row order.
    Returns the markdown string. Raises KeyError when a key is missing.
    """
    header = ["Model", "val AI recall @ target (%)", "false accusation rate (%)", "AI recall (%)",
              "uncertain (%)", "accuracy (%)", "ROC AUC", "random-split accuracy (%)"]
    body = [[row["model"], _pct(row["validation"]),
             *(_mean_std(row["summary"][k], True) for k in ("false_accusation_rate", "ai_recall",
                                                              "share_uncertain", "accuracy")),
             _mean_std(row["summary"]["roc_auc"], False), _pct(row.get("random_accuracy"))]
            for row in rows]
    return "\n".join(_table(header, body)) + "\n"
