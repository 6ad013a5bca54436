"""Download the open MIMIC-IV Clinical Database Demo (ODbL) from PhysioNet and verify every file."""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from warehouse.lake import ClinfuseError

DEMO_URL = "https://physionet.org/files/mimic-iv-demo/2.2/"
_TIMEOUT_S = 60


def _get(url: str):
    try:
        return urllib.request.urlopen(url, timeout=_TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        raise ClinfuseError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ClinfuseError(
            f"cannot download {url} ({reason}); offline? Download the demo by hand from "
            f"https://physionet.org/content/mimic-iv-demo/2.2/ and pass its folder with --mimic-iv"
        ) from None


def fetch_demo(out: Path, *, base_url: str | None = None, progress=lambda m: None) -> Path:
    """Fetch SHA256SUMS.txt, then every file it lists, each verified before it is moved into place."""
    base = (base_url or DEMO_URL).rstrip("/") + "/"
    out.mkdir(parents=True, exist_ok=True)
    with _get(base + "SHA256SUMS.txt") as response:
        sums_text = response.read().decode()
    entries = [line.split(maxsplit=1) for line in sums_text.splitlines() if line.strip()]
    for digest, rel in entries:
        rel = rel.strip().lstrip("*")
        target = out / rel
        if target.is_file() and _sha256(target) == digest:
            progress(f"  {rel}: present")
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        with _get(base + rel) as response, open(part, "wb") as f:
            shutil.copyfileobj(response, f, 1 << 20)
        got = _sha256(part)
        if got != digest:
            part.unlink()
            raise ClinfuseError(f"{base + rel}: sha256 {got[:12]}… does not match SHA256SUMS.txt ({digest[:12]}…)")
        os.replace(part, target)
        progress(f"  {rel}: downloaded and verified")
    (out / "SHA256SUMS.txt").write_text(sums_text)
    return out


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
