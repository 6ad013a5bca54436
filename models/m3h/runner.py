"""What the M3H Dagster assets call (no Dagster here).

    train_m3h     frames.m3h -> trained / skipped tasks -> the multi-task model (every trained task + the
                  clustering autoencoder), one single-task model per trained task and a single autoencoder,
                  the TIM matrix on the selection split -> artifacts/m3h/ + a JSON record
    evaluate_m3h  the record's checkpoints -> test predictions -> one EvalRun per task and model (m3h, m3h_single)
                  -> reports/m3h (multi-head report: single vs multi per task, skipped tasks, TIM heatmap,
                  clustering)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
from pathlib import Path

import numpy as np

from models.m3h.data import IMPUTATION, M3HData
from models.m3h.settings import MODE_TEXT, resolve_settings
from warehouse.lake import ClinfuseError, Home, atomic_dir

MODEL = "m3h"
SINGLE = "m3h_single"
SOURCES = ("models/m3h", "features/m3h", "warehouse/sql/cohorts/m3h_tasks.sql", "warehouse/resources/m3h_tasks.csv",
           "models/metrics.py", "models/reports")
PRIMARY = {"binary": "auroc", "multiclass": "auroc", "regression": "r2"}


@contextlib.contextmanager
def torch_threads(n: int):
    """Run with `n` torch threads (0 = unchanged): tiny networks on a shared 2-core CPU are slower with more."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _rel(home: Home, path: Path | str) -> str:
    from models.runner import _rel as rel

    return rel(home, path)


def code_version() -> str:
    from warehouse.versions import source_version

    return source_version(*SOURCES)


def _save(obj: dict, path: Path) -> str:
    """torch.save atomically (temp file + rename); the sha256 of the bytes written."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(obj, tmp)
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()[:16]
    os.replace(tmp, path)
    return digest


def set_key(task_set) -> str:
    return "+".join(sorted(task_set))


def _checkpoint(model, tasks: list[str], clustering: bool, history: list[dict], frame: str) -> dict:
    return {"model": model.state_dict(), "tasks": tasks, "clustering": clustering, "history": history,
            "frame_fingerprint": frame}


def _load(home: Home, entry: dict, data: M3HData, settings: dict):
    import torch

    from models.m3h.nets import M3HNet
    from models.m3h.train import device_of, task_tuples

    path = home.root / entry["checkpoint"]
    if not path.is_file():
        raise ClinfuseError(f"{path}: checkpoint missing: materialise models/m3h again")
    if hashlib.sha256(path.read_bytes()).hexdigest()[:16] != entry["sha256"]:
        raise ClinfuseError(f"{path}: not the checkpoint models/m3h recorded: materialise models/m3h again")
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = M3HNet(data.dims, task_tuples(data, state["tasks"]), settings, clustering=state["clustering"])
    model.load_state_dict(state["model"])
    return model.to(device_of(settings["device"]))


def train_m3h(home: Home, *, profile: str | None = None, overrides: dict | None = None,
              frame_record: dict | None = None, progress=print) -> dict:
    """Train every M3H model on frames.m3h; the JSON record the report asset evaluates."""
    settings = resolve_settings(profile, overrides)
    with torch_threads(settings["threads"]):
        return _train(home, settings, frame_record, progress)


def _train(home: Home, settings: dict, frame_record: dict | None, progress) -> dict:
    from models.m3h.tim import tim_matrix
    from models.m3h.train import fit, predict, scores

    data = M3HData(home)
    trained, skipped = data.select_tasks(settings["min_train_positives"], settings["max_tasks"])
    if not trained:
        raise ClinfuseError(f"models/m3h: no task has min_train_positives = {settings['min_train_positives']} "
                            f"training positives in frames.m3h ({len(data.rows('train'))} training rows)")
    select_split = "test" if settings["mode"] == "faithful" else "val"
    select_rows = data.rows(select_split)
    out_dir = home.root / "artifacts" / MODEL
    progress(f"m3h: {len(trained)} tasks trained, {len(skipped)} skipped; {len(data.rows('train'))} training rows; "
             f"selection on {select_split} ({len(select_rows)} rows); profile {settings['profile']}")
    checkpoints = {}

    def keep(name: str, model, tasks: list[str], clustering: bool, history: list[dict]) -> None:
        path = out_dir / f"{name}.pt"
        digest = _save(_checkpoint(model, tasks, clustering, history, data.fingerprint), path)
        checkpoints[name] = {"checkpoint": _rel(home, path), "sha256": digest, "tasks": tasks,
                             "clustering": clustering, "history": history}

    model, history = fit(data, trained, settings, clustering=True, score_rows=data.rows("val"))
    keep("multi", model, trained, True, history)
    progress(f"m3h: multi-task model trained ({len(history)} epochs)")
    for task in trained:
        model, history = fit(data, [task], settings, score_rows=data.rows("val"))
        keep(f"single_{task}", model, [task], False, history)
    model, history = fit(data, [], settings, clustering=True)
    keep("single_clustering", model, [], True, history)
    progress(f"m3h: {len(trained)} single-task models and the single autoencoder trained")

    tim_tasks = trained[:settings["tim_tasks"]] if settings["tim_tasks"] else list(trained)
    tim_epochs = settings["tim_epochs"] or settings["epochs"]

    test_rows = data.rows("test")
    set_predictions: dict[str, np.ndarray] = {}

    def score_of(task_set: frozenset) -> dict[str, float]:
        tasks = [t for t in trained if t in task_set]
        net, _ = fit(data, tasks, settings, epochs=tim_epochs)
        # test predictions are stored for the set chosen per task later (on the selection split), never read here
        test_pred = predict(net, data, test_rows)
        for task in tasks:
            set_predictions[f"{set_key(task_set)}::{task}"] = test_pred[task]
        return scores(data, predict(net, data, select_rows), select_rows, tasks)

    tim = tim_matrix(tim_tasks, score_of, max_subset=settings["tim_max_subset"], n_subsets=settings["tim_subsets"],
                     seed=settings["seed"]) if len(tim_tasks) >= 2 else None
    if tim is not None:
        tim = {**tim, "delta": [[None if not np.isfinite(v) else float(v) for v in row] for row in tim["delta"]],
               "split": select_split, "epochs": tim_epochs}
        progress(f"m3h: TIM over {len(tim_tasks)} tasks ({tim['sets_trained']} task sets trained)")
        path = out_dir / "task_sets.npz"
        with open(path.with_suffix(".tmp"), "wb") as handle:
            np.savez(handle, **set_predictions)
        os.replace(path.with_suffix(".tmp"), path)
        tim["predictions"] = {"file": _rel(home, path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()[:16]}
    fingerprint = hashlib.sha256(json.dumps(
        {"settings": settings, "frame": data.fingerprint, "checkpoints": {k: v["sha256"] for k, v in checkpoints.items()}},
        sort_keys=True).encode()).hexdigest()[:16]
    return {
        "model": MODEL, "family": MODEL, "task": "multitask", "settings": settings, "fingerprint": fingerprint,
        "lineage": {"frame": {"task": "m3h", "fingerprint": data.fingerprint},
                    "build": (frame_record or {}).get("build_settings") or {},
                    "inputs": (frame_record or {}).get("input_data_versions") or {}},
        "trained_tasks": trained, "skipped_tasks": skipped,
        "train_counts": {t: data.train_count(t) for t in data.specs},
        "checkpoints": checkpoints, "tim": tim, "selection_split": select_split,
        "split_sizes": {s: int(len(data.rows(s))) for s in ("train", "val", "test")},
        "imputation": IMPUTATION,
    }


def _subset(data: M3HData, task: str, rows: np.ndarray, pred: np.ndarray):
    """The labelled test rows of a task as a metrics Subset of its kind."""
    from models.metrics import Subset

    y = data.labels[task][rows]
    keep = ~np.isnan(y)
    kind = data.specs[task].kind
    r, p = rows[keep], pred[keep]
    y_true = y[keep][:, None] if kind == "binary" else y[keep].astype(int) if kind == "multiclass" else y[keep]
    y_prob = p[:, None] if kind == "binary" else p
    return Subset(y_true=y_true, y_prob=y_prob, subject_id=data.subject_id[r], sex=data.sex[r], age=data.age[r],
                  race=data.race[r])


def paper_sd(kind: str, y_true: np.ndarray, y_prob: np.ndarray, seed: int, draws: int = 5,
             fraction: float = 0.9) -> tuple[float, float]:
    """M3H's bounds (C5, C6 #7): mean and SD of the task score over `draws` random 90 % subsets of the test rows
    (without replacement, seeded); NaN where the score is undefined on every draw."""
    from models.m3h.train import task_score

    y = y_true[:, 0] if y_true.ndim == 2 else y_true
    p = y_prob[:, 0] if kind == "binary" and y_prob.ndim == 2 else y_prob
    rng = np.random.default_rng(seed)
    size = max(2, int(round(fraction * len(y))))
    values = [task_score(kind, y[idx].astype(float), p[idx]) for idx in
              (rng.choice(len(y), size=min(size, len(y)), replace=False) for _ in range(draws))]
    values = [v for v in values if np.isfinite(v)]
    if len(values) < 2:
        return float("nan"), float("nan")
    return float(np.mean(values)), float(np.std(values, ddof=1))


def _cell(doc: dict | None, metric: str) -> str:
    if doc is None:
        return "–"
    entry = doc["subsets"]["test"]["metrics"].get(metric) or {}
    value = entry.get("value")
    if value is None or not np.isfinite(value):
        return "undefined"
    low, high = entry.get("ci_low"), entry.get("ci_high")
    ci = f" ({low:.3f}–{high:.3f})" if low is not None and high is not None and np.isfinite(low) else ""
    return f"{value:.3f}{ci}"


def _sd_text(mean: float, sd: float) -> str:
    return "undefined" if not np.isfinite(sd) else f"{mean:.3f} ± {sd:.3f}"


def _value(doc: dict, metric: str) -> float:
    v = (doc["subsets"]["test"]["metrics"].get(metric) or {}).get("value")
    return float("nan") if v is None else float(v)


def evaluate_m3h(home: Home, record: dict, *, n_bootstrap: int | None = None,
                 subgroup_n_bootstrap: int | None = None, seed: int = 0, sources: dict | None = None,
                 progress=print) -> dict:
    """Evaluate the record's models on the test split and write reports/m3h; the report record."""
    with torch_threads(record["settings"].get("threads", 0)):
        return _evaluate(home, record, n_bootstrap, subgroup_n_bootstrap, seed, sources, progress)


def _evaluate(home: Home, record: dict, n_bootstrap, subgroup_n_bootstrap, seed, sources, progress) -> dict:
    from models.m3h.cluster import clustering_scores, fixed_space
    from models.m3h.tim import heatmap_png
    from models.m3h.train import predict
    from models.metrics import EvalRun, evaluate_run, multihead_headline
    from models.reports import write_multihead_report

    settings = record["settings"]
    n_bootstrap = settings["n_bootstrap"] if n_bootstrap is None else n_bootstrap
    subgroup_n_bootstrap = settings["subgroup_n_bootstrap"] if subgroup_n_bootstrap is None else subgroup_n_bootstrap
    data = M3HData(home)
    if data.fingerprint != record["lineage"]["frame"]["fingerprint"]:
        raise ClinfuseError(f"frames/m3h changed since models/m3h was trained (frame {data.fingerprint}, record "
                            f"{record['lineage']['frame']['fingerprint']}): materialise models/m3h again")
    test = data.rows("test")
    if len(test) == 0:
        raise ClinfuseError("models/m3h: frames.m3h has no test rows to evaluate")
    ckpt = record["checkpoints"]
    multi = _load(home, ckpt["multi"], data, settings)
    multi_pred = predict(multi, data, test)
    releases = sorted(v for v in (sources or {}).values() if v)
    provenance = {
        "data_source": ", ".join(releases) or "not recorded",
        "synthetic": any(r.startswith("synthetic-") for r in releases),
        "split_sizes": record["split_sizes"], "seed": settings["seed"], "report_seed": seed,
        "code_version": code_version(), "build_settings": record["lineage"].get("build", {}),
        "frame_fingerprint": data.fingerprint, "checkpoint_fingerprint": record["fingerprint"],
        "weights_sources": {"embeddings": "frozen HAIM embeddings of features.haim (DenseNet121-res224-chex, "
                                          "ClinicalBERT) as the frame holds them"},
        "mode": settings["mode"], "mode_description": MODE_TEXT[settings["mode"]], "profile": settings["profile"],
        "imputation": record["imputation"], "selection_split": record["selection_split"],
        "settings": {k: settings[k] for k in sorted(settings)}, "python": platform.python_version(),
    }
    docs, runs, rows = [], [], []
    for task in record["trained_tasks"]:
        spec = data.specs[task]
        single = _load(home, ckpt[f"single_{task}"], data, settings)
        single_pred = predict(single, data, test)[task]
        pair, paper = {}, {}
        for name, pred, entry in ((MODEL, multi_pred[task], ckpt["multi"]),
                                  (SINGLE, single_pred, ckpt[f"single_{task}"])):
            subset = _subset(data, task, test, pred)
            if len(subset.y_true) == 0:
                pair[name] = None
                continue
            run = EvalRun(model=name, task=task, label_names=list(spec.label_names), subsets={"test": subset},
                          kind=spec.kind, history=entry["history"],
                          provenance={**provenance, "tasks_in_model": entry["tasks"]}, seed=seed,
                          n_bootstrap=n_bootstrap, subgroup_n_bootstrap=subgroup_n_bootstrap)
            doc = evaluate_run(run)
            docs.append(doc)
            runs.append(run)
            pair[name] = doc
            paper[name] = paper_sd(spec.kind, subset.y_true, subset.y_prob, seed)
        metric = PRIMARY[spec.kind]
        s, m = pair.get(SINGLE), pair.get(MODEL)
        gain = (_value(m, metric) - _value(s, metric)) if s and m else float("nan")
        rows.append({"task": task, "department": spec.department, "kind": spec.kind, "metric": metric,
                     "test_n": int(len(_subset(data, task, test, multi_pred[task]).y_true)),
                     "train_count": record["train_counts"][task],
                     "single": _value(s, metric) if s else None, "multi": _value(m, metric) if m else None,
                     "gain": None if not np.isfinite(gain) else gain,
                     "single_text": _cell(s, metric), "multi_text": _cell(m, metric),
                     "single_sd5x90": paper.get(SINGLE, (None, None))[1], "multi_sd5x90": paper.get(MODEL, (None, None))[1],
                     "paper_text": " / ".join(_sd_text(*paper[n]) if n in paper else "–" for n in (SINGLE, MODEL))})
    best_sets = _best_sets(home, record, data, test, seed)
    for row in rows:
        row.update(best_sets.get(row["task"], {}))
    progress(f"m3h: {len(docs)} heads evaluated on {len(test)} test rows")
    sections = [_comparison_section(rows), _skipped_section(record), _tim_section(record, heatmap_png)]
    sections.append(_clustering_section(home, record, data, settings, multi, test, clustering_scores, fixed_space))
    out = home.root / "reports" / MODEL
    with atomic_dir(out) as tmp:
        written = write_multihead_report(tmp, MODEL, docs, runs, sections, provenance)
    paths = {k: out / Path(v).name for k, v in written.items()}
    multi_docs = [d for d in docs if d["model"] == MODEL]
    gains = [r["gain"] for r in rows if r["gain"] is not None]
    head = {**multihead_headline(multi_docs), "tasks_trained": float(len(record["trained_tasks"])),
            "tasks_skipped": float(len(record["skipped_tasks"]))}
    if gains:
        head["mean_gain_multi_minus_single"] = float(np.mean(gains))
    progress(f"m3h: report written to {paths['html']}")
    return {"model": MODEL, "report_dir": _rel(home, out), "metrics": _rel(home, paths["json"]),
            "html": _rel(home, paths["html"]), "headline": head}


def _best_sets(home: Home, record: dict, data: M3HData, test: np.ndarray, seed: int) -> dict[str, dict]:
    """Per TIM task: the multi-task set (2+ tasks) with the best score of that task on the selection split (C4's
    "best multi-task model"), and that set's test score with the paper's ± SD."""
    from models.m3h.train import task_score

    tim = record["tim"]
    if not tim or "predictions" not in tim:
        return {}
    path = home.root / tim["predictions"]["file"]
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest()[:16] != tim["predictions"]["sha256"]:
        raise ClinfuseError(f"{path}: not the task-set predictions models/m3h recorded: materialise models/m3h again")
    predictions = np.load(path)
    out = {}
    for task in tim["tasks"]:
        candidates = [(v[task], k) for k, v in tim["scores"].items()
                      if task in k.split("+") and "+" in k and v.get(task) is not None and np.isfinite(v[task])]
        if not candidates:
            continue
        score, key = max(candidates)
        kind = data.specs[task].kind
        y, p = data.labels[task][test], predictions[f"{key}::{task}"]
        keep = ~np.isnan(y)
        mean, sd = paper_sd(kind, y[keep], p[keep], seed)
        out[task] = {"best_set": key.split("+"), "best_set_selection_score": float(score),
                     "best_set_test": task_score(kind, y[keep], p[keep]), "best_set_sd5x90": sd,
                     "best_set_text": f"{task_score(kind, y[keep], p[keep]):.3f} [{key}]"}
    return out


def _comparison_section(rows: list[dict]):
    from models.reports import Section

    lines = ["Test score of the single-task model and of the multi-task model (every trained task + the clustering "
             "autoencoder, cross-task attention) per trained task, with 95 % bootstrap CIs. Score: AUROC (binary), "
             "macro one-vs-rest AUROC (thorax8), R² (los). The multi-task model is the one model over every "
             "trained task (the paper's Fig. 4 shows, per task, its best multi-task set, chosen on test: C6 #6). "
             "Last column: the paper's bounds, mean ± 1 SD over 5 random 90 % subsets of test (single / multi; "
             "not a CI, C6 #7). Best set: among the TIM task sets of 2+ tasks holding the task, the one with the best "
             "score of that task on the selection split (validation unless the faithful mode), its test score "
             "(fewer epochs: TIM's).", "",
             "| task | department | kind | metric | train positives / labelled | test n | single-task | multi-task | "
             "multi − single | paper-style ± SD (single / multi) | best set (selected, then test) |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        gain = "–" if r["gain"] is None else f"{r['gain']:+.3f}"
        lines.append(f"| {r['task']} | {r['department']} | {r['kind']} | {r['metric']} | {r['train_count']} | "
                     f"{r['test_n']} | {r['single_text']} | {r['multi_text']} | {gain} | {r['paper_text']} | "
                     f"{r.get('best_set_text', '–')} |")
    data = {"rows": [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()
                      if not k.endswith("_text")} for r in rows]}
    return Section(title="Single-task vs multi-task", markdown="\n".join(lines), data=data)


def _skipped_section(record: dict):
    from models.reports import Section

    skipped = record["skipped_tasks"]
    lines = [f"Tasks with fewer than min_train_positives = {record['settings']['min_train_positives']} training "
             f"positives (binary) or labelled rows (multiclass, regression) are not trained.", ""]
    if skipped:
        lines += ["| task | reason |", "|---|---|"] + [f"| {t} | {why} |" for t, why in skipped.items()]
    else:
        lines.append("No task was skipped.")
    return Section(title="Skipped tasks", markdown="\n".join(lines), data={"skipped": skipped})


def _tim_section(record: dict, heatmap_png):
    from models.reports import Section

    tim = record["tim"]
    if tim is None:
        return Section(title="Task interaction (TIM)", markdown="Fewer than two trained tasks: no TIM matrix.")
    delta = np.array([[np.nan if v is None else v for v in row] for row in tim["delta"]], dtype=float)
    text = ("δ_ij = mean over sampled subsets S (∅ included; |S| ≤ "
            f"{record['settings']['tim_max_subset']}) of f_i(S ∪ {{i, j}}) − f_i(S ∪ {{i}}), f_i = the score of "
            f"task i read on the **{tim['split']}** split of a model trained on that set for {tim['epochs']} "
            f"epochs ({tim['sets_trained']} task sets trained). Cells: colour = δ, text = its signed rank in the "
            f"source row (Fig. 6).")
    if tim["split"] == "test":
        text += " **Faithful mode: read on test (selection on test, C6 #6).**"
    png = heatmap_png(tim["tasks"], delta, f"TIM (selection on {tim['split']})")
    return Section(title="Task interaction (TIM)", markdown=text, images={"tim_heatmap": png},
                   data={"tasks": tim["tasks"], "delta": tim["delta"], "split": tim["split"],
                         "subsets": tim["subsets"], "scores": tim["scores"]})


def _clustering_section(home, record, data, settings, multi, test, clustering_scores, fixed_space):
    from models.m3h.modalities import stacked_inputs
    from models.m3h.train import predict
    from models.reports import Section

    train = data.rows("train")
    x_train, x_test = stacked_inputs(data, train), stacked_inputs(data, test)
    pca = fixed_space(x_train, settings["pca_components"], settings["seed"])
    fixed_test = pca.transform(x_test)
    results = {}
    single = _load(home, record["checkpoints"]["single_clustering"], data, settings)
    for name, model in (("single-task autoencoder", single), ("multi-task model's autoencoder", multi)):
        tr, te = predict(model, data, train), predict(model, data, test)
        results[name] = clustering_scores(tr["latent"], te["latent"], fixed_test, te["reconstruction_mse"],
                                          settings["clusters"], settings["seed"])
    lines = [f"K-means (k = {settings['clusters']}) fitted on the training latent, test rows assigned. The "
             "latent silhouette compares different spaces between the two models (C6 #13); the silhouette of the "
             "same cluster labels in a fixed PCA space of the standardised inputs "
             f"({pca.n_components_} components, fitted on training rows) and the reconstruction MSE are "
             "like-for-like.", "", "| model | clusters on test | silhouette (latent) | silhouette (fixed PCA) | "
             "reconstruction MSE |", "|---|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['clusters_on_test']} | {r['silhouette_latent']:.3f} | "
                     f"{r['silhouette_fixed_pca']:.3f} | {r['reconstruction_mse']:.4f} |")
    lines.append("")
    lines.append("Task name `phenotype_clusters` (models.published.M3H_TASK_NAMES; Fig. 4 reports the latent "
                 "silhouette).")
    clean = {k: {kk: (None if isinstance(vv, float) and not np.isfinite(vv) else vv) for kk, vv in v.items()}
             for k, v in results.items()}
    return Section(title="Phenotyping (clustering)", markdown="\n".join(lines),
                   data={"task": "phenotype_clusters", "single": clean["single-task autoencoder"],
                         "multi": clean["multi-task model's autoencoder"]})
