"""Loading the graph imports no model or image library: `clinfuse run` of a time-series selection starts
without paying for torch, transformers, scikit-learn or OpenCV (issue 12); the assets that use them import
them in their bodies."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
HEAVY = ("torch", "transformers", "timm", "torchxrayvision", "torchvision", "sklearn", "xgboost", "matplotlib",
         "cv2", "PIL")


def _loaded_after(code: str) -> list[str]:
    probe = f"import json, sys\n{code}\nprint(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_building_the_definitions_imports_no_heavy_library(tmp_path):
    code = ("from pipelines.definitions import build_definitions\n"
            "from pipelines.resources import ClinfuseResource\n"
            f"build_definitions(ClinfuseResource(home={str(tmp_path)!r}), 2).resolve_asset_graph()")
    assert _loaded_after(code) == []


def test_the_probe_sees_a_heavy_import():
    assert {"cv2", "torch"} <= set(_loaded_after("import features.cxr.tensors"))


@pytest.mark.parametrize("package", ["features.notes", "features.cxr"])
def test_lazy_packages_give_every_exported_name(package):
    module = __import__(package, fromlist=["__all__"])
    for name in module.__all__:
        assert getattr(module, name) is not None, name
    with pytest.raises(AttributeError):
        module.not_a_name  # noqa: B018
