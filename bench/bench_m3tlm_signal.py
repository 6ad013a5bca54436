"""Does M3T-LM learn LoS and mortality from the synthetic source's planted signal, and only from it?

On a home whose frames/m3tlm inputs are materialised (e.g. `clinfuse synth --patients 1200` then
`clinfuse run --select "+frames/m3tlm"`), builds the frame, trains M3T-LM on the true labels and again on
training labels permuted at random (`shuffle_train_labels`, the negative control), and compares with the
mean predictor (the training split's mean LoS for everyone). With signal: the LoS MAE's 95 % CI lies below
the mean predictor's MAE and the mortality AUROC's CI above 0.5; the control's AUROC CI should contain 0.5.
The median predictor (the constant with the lowest MAE) is reported too: beating only the mean says little.

Writes bench/results/m3tlm_signal.json. Usage:
    python bench/bench_m3tlm_signal.py --home DIR [--epochs 15] [--profile demo] [--window 24]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from features.m3tlm.frame import FrameSettings, write_frame
from models.m3tlm.runner import evaluate_m3tlm, train_m3tlm
from warehouse.lake import Home

RESULTS = Path(__file__).parent / "results" / "m3tlm_signal.json"


def _figures(home: Home, report: dict) -> dict:
    doc = json.loads((home.root / report["metrics"]).read_text())
    heads = {h["task"]: h["subsets"]["test_partial"] for h in doc["heads"]}
    reference = next(s for s in doc["sections"] if s["title"].startswith("Reference"))["data"]
    pick = {"los": ("mae", "rmse", "r2", "explained_variance"),
            "mortality": ("auroc", "accuracy", "precision", "recall", "f1_binary")}
    out = {task: {m: heads[task]["metrics"][m] for m in metrics} for task, metrics in pick.items()}
    out["los"]["mean_predictor_mae"] = reference["mean_predictor"]["mae"]
    out["los"]["median_predictor_mae"] = reference.get("median_predictor", {}).get("mae")
    out["n_test"] = heads["los"]["n"]
    out["test_deaths"] = heads["mortality"].get("positives")
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", required=True)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--window", type=int, default=24)
    args = parser.parse_args()
    home = Home.open(args.home)
    frame = write_frame(home, FrameSettings(window_hours=args.window))
    results = {"frame": {k: v for k, v in frame.items() if k != "settings"}, "epochs": args.epochs,
               "profile": args.profile}
    for name, shuffle in (("true_labels", False), ("shuffled_labels", True)):
        started = time.monotonic()
        record = train_m3tlm(home, profile=args.profile, weights_policy="auto",
                             overrides={"epochs": args.epochs, "shuffle_train_labels": shuffle})
        report = evaluate_m3tlm(home, record, sources={"mimic_iv": "synthetic"})
        results[name] = {**_figures(home, report), "best_epoch": record["best_epoch"],
                         "final_weights": record["gradnorm"][-1]["weights"],
                         "seconds": round(time.monotonic() - started, 1)}
        print(name, json.dumps(results[name], indent=1))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
