"""Do the fusion models learn, and only from real signal? IHM on a synthetic source, trained twice.

The synthetic generator plants signal (a latent severity drives mortality, vitals, labs and image
findings). Each fusion model is trained as a user would (`clinfuse run`, demo profile) on the true
labels, and again on training labels permuted at random (`shuffle_train_labels`, a negative control).
With signal, the test AUROC's 95 % CI lies above 0.5; the control's CI should contain 0.5.

Writes bench/results/signal.json and prints both. Usage:
    python bench/bench_signal.py [--patients 1200] [--epochs 6]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from pipelines.run import materialize_selection
from warehouse.lake import Home
from warehouse.sources import synthetic_sources
from warehouse.synth import generate

RESULTS = Path(__file__).parent / "results" / "signal.json"
MODELS = ("medfuse_ihm", "tsfusion_ihm")
SETTINGS = {"weights": "auto", "notes_model": "random-init:L1", "model_profile": "demo"}


def _auroc(home: Home, model: str) -> dict:
    doc = json.loads((home.root / "reports" / model / "metrics.json").read_text())
    auroc = doc["subsets"]["test_partial"]["metrics"]["auroc"]
    return {"auroc": auroc["value"], "ci_low": auroc["ci_low"], "ci_high": auroc["ci_high"],
            "n_test": doc["subsets"]["test_partial"]["n"], "positives": doc["subsets"]["test_partial"]["positives"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=1200)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    os.environ.setdefault("CLINFUSE_LOG_LEVEL", "WARNING")
    selection = " or ".join(f"key:models/{m} or key:reports/{m}" for m in MODELS)
    sets = tuple(f"models/{m}.epochs={args.epochs}" for m in (*MODELS, "uni_ehr_ihm"))
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        generate(root / "src", patients=args.patients, seed=0, images=True, notes=False)
        sources = synthetic_sources(root / "src")
        home = Home.open(root / "home")
        start = time.monotonic()
        for upstream in ("*models/uni_cxr", "*frames/ihm", "*features/normalizer_ihm"):
            materialize_selection(home, sources, upstream, settings=SETTINGS)
        print(f"graph up to frames/ihm and uni_cxr: {time.monotonic() - start:.0f} s", flush=True)
        control = Home.open(root / "control")
        shutil.copytree(home.root, control.root, dirs_exist_ok=True, symlinks=True)
        for label, target, extra in (("true labels", home, ()),
                                     ("shuffled training labels", control,
                                      # the stage-1 EHR encoder too, or it would carry the true labels' signal
                                      tuple(f"models/{m}.shuffle_train_labels=true"
                                            for m in (*MODELS, "uni_ehr_ihm")))):
            start = time.monotonic()
            materialize_selection(target, sources, "key:models/uni_ehr_ihm or " + selection, settings=SETTINGS,
                                  sets=sets + extra)
            for model in MODELS:
                row = {"model": model, "labels": label, **_auroc(target, model),
                       "seconds": round(time.monotonic() - start, 1)}
                row["ci_excludes_chance"] = row["ci_low"] > 0.5
                runs.append(row)
                print(f"{model:14s} {label:26s} test AUROC {row['auroc']:.3f} "
                      f"[{row['ci_low']:.3f}, {row['ci_high']:.3f}] (n={row['n_test']}, positives {row['positives']})",
                      flush=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({
        "benchmark": "signal", "when": time.strftime("%Y-%m-%d"),
        "goal": "fusion models beat chance on synthetic IHM (CI above 0.5); on shuffled training labels the "
                "CI contains 0.5",
        "patients": args.patients, "epochs": args.epochs, "runs": runs}, indent=1) + "\n")


if __name__ == "__main__":
    main()
