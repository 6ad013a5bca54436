"""`clinfuse doctor`: what this installation can see — home, sources, weights, GPU, versions."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import stat
from pathlib import Path

from warehouse.lake import ClinfuseError, Home, default_home
from warehouse.sources import DETECTORS, ENV_VARS, load_config_file, load_saved_sources

PACKAGES = ("clinfuse", "duckdb", "polars", "pyarrow", "dagster", "dagster-webserver", "torch", "torchvision",
            "torchxrayvision", "transformers", "opencv-python-headless", "scikit-learn")


def _version(name: str) -> str:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return "NOT INSTALLED"


def _weights_lines() -> list[str]:
    """Every registered pretrained model, checked by the lookup its loader uses (features.weights.WEIGHTS)."""
    lines = []
    try:
        import features.cxr.densenet  # noqa: F401 - each loader registers its weights
        import features.notes.bert  # noqa: F401
        import models.encoders  # noqa: F401
        from features.weights import WEIGHTS
    except Exception as exc:  # an optional diagnostic must not fail the report
        return [f"  cannot check ({exc.__class__.__name__}: {exc})"]
    for entry in WEIGHTS.values():
        try:
            found = entry.lookup()
            state = "present" if found.present else f"MISSING (needs {found.needs})"
            lines.append(f"  {entry.name} ({entry.library}, for {entry.used_by}): {state} — {found.where}")
        except Exception as exc:
            lines.append(f"  {entry.name}: cannot check ({exc.__class__.__name__})")
    lines.append("  (without weights, embedding assets stop with an error unless `weights: auto` / CLINFUSE_WEIGHTS=auto;"
                 " a source without notes or images needs none)")
    return lines


def _gpu_line() -> str:
    try:
        import torch

        if torch.cuda.is_available():
            names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
            return f"  CUDA {torch.version.cuda}: {', '.join(names)}"
        return "  none (CPU only; training and embeddings run on the CPU)"
    except Exception as exc:
        return f"  torch unusable: {exc.__class__.__name__}: {exc}"


def report(home_flag: str | None) -> tuple[list[str], bool]:
    ok = True
    root = Path(home_flag or os.environ.get("CLINFUSE_HOME") or load_config_file().get("home") or default_home())
    lines = [f"clinfuse doctor — Python {platform.python_version()} on {platform.system()} {platform.machine()}", "", "home:"]
    if root.is_dir():
        mode = stat.S_IMODE(root.stat().st_mode)
        lines.append(f"  {root.resolve()} (mode {mode:o}{'' if mode & 0o077 == 0 else ' — WARNING: readable by others'})")
        home = Home(root.resolve())
        lines.append(f"  catalog: {home.catalog_path if home.catalog_path.exists() else 'not created yet (run clinfuse ingest)'}")
    else:
        home = None
        lines.append(f"  {root} does not exist yet (created by the first ingest or run)")
    lines += ["", "sources:"]
    config = load_config_file(root if root.is_dir() else None)
    saved = load_saved_sources(home) if home else None
    for kind, detect in DETECTORS.items():
        value = os.environ.get(ENV_VARS[kind]) or config.get(kind) or (saved.as_dict()[kind] if saved else None)
        if not value:
            lines.append(f"  {kind}: not configured" + (" (the synthetic source is used)" if kind == "mimic_iv" else ""))
            continue
        try:
            layout = detect(value)
            lines.append(f"  {kind}: {layout.root} — release {layout.release}, {len(layout.files)} tables")
        except ClinfuseError as exc:
            ok = False
            lines.append(f"  {kind}: PROBLEM: {exc}")
    lines += ["", "weights:", *_weights_lines(), "", "GPU:", _gpu_line(), "", "versions:"]
    for name in PACKAGES:
        version = _version(name)
        ok &= version != "NOT INSTALLED"
        lines.append(f"  {name:<24} {version}")
    return lines, ok
