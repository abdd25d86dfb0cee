"""Ablation table in the form of Vu 2025, Table 5 (baseline, + attention, + TTA), every row
measured by ``evaluate`` here (``python -m training.ablation``)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.report import ablation_table


def ablation_rows(baseline: dict, attention: dict, result_sets=("test", "test_laundered")) -> list[dict]:
    """Rows for ``training.report.ablation_table`` from two evaluate ``metrics.json`` dicts: the
    plain-head run without attention and the SE + dense-head run (without, then with TTA)."""
    rows = []
    for result_set in result_sets:
        split = f"{attention['split']['name']} {result_set}"
        for name, metrics, key in (("Baseline MobileNetV2", baseline, "no_tta"),
                                   ("+ SE attention + dense head", attention, "no_tta"),
                                   ("+ SE attention + dense head + TTA", attention, "tta")):
            m = metrics["results"][result_set][key]
            rows.append({"model": name, "split": split, "accuracy": m["accuracy"], "roc_auc": m["roc_auc"],
                         "ai_f1": m["per_class"]["ai"]["f1"], "human_f1": m["per_class"]["human"]["f1"]})
    return rows


def main(argv=None) -> str:
    """Write the ablation markdown to ``--output``; returns it."""
    parser = argparse.ArgumentParser(description="Ablation table (Vu 2025, Table 5 form)")
    parser.add_argument("--baseline", required=True, help="metrics.json of the baseline run")
    parser.add_argument("--attention", required=True, help="metrics.json of the SE + dense-head run")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    text = ablation_table(ablation_rows(*(json.loads(Path(p).read_text()) for p in (args.baseline, args.attention))))
    Path(args.output).write_text("# Ablation (Vu 2025, Table 5 form; measured here)\n\n" + text)
    return text


if __name__ == "__main__":
    print(main())
