"""DenseNet121-res224-chex image embeddings (torchxrayvision; SPEC §4 item 6, reference §4.7).

Where the weights come from (torchxrayvision 1.5.x, `xrv.models.get_weights`): the file
`chex-densenet121-d121-tw-lr001-rot45-tr15-sc15-seed0-best.pt` (the basename of the release URL) in the
cache directory — `cache_dir` when given, else `xrv.utils.get_cache_dir()` = `~/.torchxrayvision/models_data/`
(`~` is `$HOME`). When the file is absent, xrv downloads it (`utils.download`, to `<file>.part` then
renamed). This module never lets it: strict policy raises `WeightsUnavailable` naming the exact path
and URL; auto builds a randomly initialised model (seeded) with the same architecture AND the chex
operating thresholds, pathology list and input resolution, so its outputs have the same semantics, and
records weights_source `random-init`. The file is a pickled `nn.Module` (xrv loads it with
`torch.load(weights_only=False)` and copies its `state_dict`).

Per image (as HAIM, reference §4.7): the plain (non-CLAHE) uint8 224 x 224 tensor by default
(`use_clahe=True` takes the CLAHE'd one) -> `xrv.datasets.normalize(img, 255)` = (2 * img / 255 - 1) * 1024
-> [N, 1, 224, 224]. One forward of `model.features` gives both outputs:
  * dense: ReLU -> global average pool -> 1024 floats (`model.features2`);
  * pathologies: `model.classifier` -> sigmoid -> `xrv.models.op_norm` with the chex thresholds, exactly
    what `model(x)` computes (checked by the tests), 18 values in `PATHOLOGIES` order
    (`xrv.datasets.default_pathologies`).
NaN policy: 7 of the 18 outputs are untrained with chex weights (`UNTRAINED`: NaN threshold, empty label
in `model.pathologies`). xrv 1.5.7's `op_norm` already sets them to the constant 0.5; older versions
produced NaN. We set them to 0.5 explicitly (`UNTRAINED_VALUE`) whatever the version, then assert that
no output, dense or pathology, is NaN or infinite — a non-finite value left after that means broken
weights or input and raises a ClinfuseError naming the images. Untrained outputs carry no information
(reference §7 item 24): consumers should drop them; `TRAINED_MASK` says which.

Incremental runs (features.embed_cache): an image's vectors are cached under its dicom_id and the sha256 of
the exact 224 x 224 tensor it embeds, for one identity (`densenet_identity`: the weights file's sha256 or the
random-init seed, input column, device type, library and code versions). The tensor's hash stands for the
file fingerprint: raw.cxr_images records only a file's size (no mtime or checksum), a same-size edit would
go unseen, and the tensor also changes when the preprocessing code does; hashing 50 KB already in memory
costs far less than one forward pass. On the CPU a vector depends on the image alone up to oneDNN's choice of
convolution kernel by batch size: an image embedded with others can differ in the last bits from the same
image embedded alone (seen: 4e-4 on values up to 5e3), so a rebuild from the cache equals a from-scratch build
to float32 rounding, not always bit for bit; on a GPU (autocast) only to its precision.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable

import numpy as np
import polars as pl
import torch
import torch.nn.functional as F

with warnings.catch_warnings():  # torchxrayvision's models.py calls warnings.filterwarnings("ignore") at
    import torchxrayvision as xrv  # import time; this restores the process's filters afterwards

from features.cxr.tensors import CROP, tensors_to_array
from features.device import autocast, resolve_device
from features.embed_cache import EmbeddingCache, content_sha256, embed_cached, files_digest
from features.weights import (
    NO_SOURCE,
    RANDOM_INIT,
    NamedWeights,
    WeightsLookup,
    missing_weights,
    register_weights,
    weights_policy,
)
from warehouse.lake import DEFAULT_SHARDS, ClinfuseError, Home

WEIGHTS = "densenet121-res224-chex"
XRV_VERSION = xrv.__version__
PATHOLOGIES: tuple[str, ...] = tuple(xrv.datasets.default_pathologies)  # the 18 outputs, in order
CHEX_LABELS: tuple[str, ...] = tuple(xrv.models.model_urls[WEIGHTS]["labels"])  # '' where untrained
UNTRAINED: tuple[str, ...] = tuple(p for p, label in zip(PATHOLOGIES, CHEX_LABELS, strict=True) if not label)
TRAINED_MASK: tuple[bool, ...] = tuple(bool(label) for label in CHEX_LABELS)
UNTRAINED_VALUE = 0.5
DENSE_DIM = 1024
N_PATHOLOGIES = len(PATHOLOGIES)
EMBEDDING_CODE_VERSION = "2"  # bump when normalize_batch/forward_both/embed_arrays change what a vector is
CACHE_KEY = ("dicom_id", "input_sha256")

EMBEDDING_SCHEMA: dict[str, pl.DataType] = {
    "dicom_id": pl.String, "subject_id": pl.Int64, "study_id": pl.Int64, "study_datetime": pl.Datetime("us"),
    "view_position": pl.String, "dense": pl.Array(pl.Float32, DENSE_DIM),
    "pathologies": pl.Array(pl.Float32, N_PATHOLOGIES), "weights_source": pl.String,
}

assert len(PATHOLOGIES) == 18 and all(not c or c == p for p, c in zip(PATHOLOGIES, CHEX_LABELS, strict=True)), \
    f"torchxrayvision {XRV_VERSION}: chex labels no longer align with default_pathologies"


def weights_file(cache_dir: str | os.PathLike | None = None) -> str:
    """The path torchxrayvision reads the chex weights from (computed as `xrv.models.get_weights` does)."""
    folder = str(cache_dir) if cache_dir is not None else xrv.utils.get_cache_dir()
    name = os.path.basename(xrv.models.model_urls[WEIGHTS]["weights_url"])
    return os.path.expanduser(os.path.join(folder, name))


def chex_weights_lookup(cache_dir: str | os.PathLike | None = None) -> WeightsLookup:
    """Is the chex weights file where torchxrayvision reads it? (load_densenet and `clinfuse doctor`)"""
    path = weights_file(cache_dir)
    return WeightsLookup(os.path.isfile(path), path, os.path.basename(path))


register_weights(NamedWeights(WEIGHTS, "torchxrayvision", "embeddings/cxr_densenet121_chex", chex_weights_lookup))


def _chex_like(model: xrv.models.DenseNet) -> xrv.models.DenseNet:
    """Give a weights=None model the chex output semantics: thresholds, pathology list, input resolution."""
    info = xrv.models.model_urls[WEIGHTS]
    model.op_threshs = torch.tensor(info["op_threshs"], dtype=torch.float32)
    model.targets = list(info["labels"])
    model.pathologies = model.targets
    model.input_resolution = info["input_resolution"]
    return model


def random_densenet(seed: int = 0) -> xrv.models.DenseNet:
    """A randomly initialised DenseNet121 with chex semantics; the same seed gives the same weights."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = xrv.models.DenseNet(weights=None)
    return _chex_like(model).eval()


def densenet_weights(policy: str | None = None, cache_dir: str | os.PathLike | None = None) -> tuple[str | None, str]:
    """load_densenet's decision, taken without loading anything: (the weights file, or None for the seeded
    random-init fallback; weights_source). Strict without the file raises WeightsUnavailable."""
    policy = weights_policy(policy)
    found = chex_weights_lookup(cache_dir)
    if found.present:
        return found.where, f"torchxrayvision:{WEIGHTS} ({found.where})"
    url = xrv.models.model_urls[WEIGHTS]["weights_url"]
    return None, missing_weights(
        f"torchxrayvision {WEIGHTS}",
        f"Expected the file {os.path.basename(found.where)} at {found.where} (torchxrayvision's cache directory; "
        f"set `cache_dir` or $HOME to use another). On a machine with internet access run "
        f"`wget {url} -O {found.where}` (or `python -c \"import torchxrayvision as xrv; "
        f"xrv.models.DenseNet(weights='{WEIGHTS}')\"`) and copy the file there.",
        policy,
    )


def load_densenet(
    policy: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    *,
    seed: int = 0,
) -> tuple[xrv.models.DenseNet, str]:
    """(model in eval mode on the CPU, weights_source). Never downloads.

    policy: 'strict' | 'auto' | None (CLINFUSE_WEIGHTS, else strict). cache_dir: torchxrayvision's cache
    directory (default `~/.torchxrayvision/models_data/`). weights_source is
    'torchxrayvision:densenet121-res224-chex (<file>)' or 'random-init'."""
    path, source = densenet_weights(policy, cache_dir)
    if path is None:
        return random_densenet(seed), source
    folder = os.path.dirname(path)
    try:
        model = xrv.models.DenseNet(weights=WEIGHTS, cache_dir=folder)  # finds the file: no download
    except Exception as exc:  # noqa: BLE001 - a corrupt file raises anything torch.load/pickle can raise
        raise ClinfuseError(f"{path}: cannot load torchxrayvision {WEIGHTS} weights "
                            f"({type(exc).__name__}: {exc}); delete the file and provide it again") from None
    return model.eval(), source


def densenet_identity(
    policy: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    *,
    use_clahe: bool = False,
    device: str = "auto",
    seed: int = 0,
) -> tuple[dict, str]:
    """(what an image's vectors depend on besides its input tensor, weights_source), without loading the model:
    the weights file's sha256 (or the random-init seed), the input column, the device type (GPUs run under
    autocast), torch/torchxrayvision versions and EMBEDDING_CODE_VERSION."""
    path, source = densenet_weights(policy, cache_dir)
    return {"model": WEIGHTS, "weights": files_digest([path]) if path else f"{RANDOM_INIT} seed {seed}",
            "input": "clahe" if use_clahe else "plain", "device": resolve_device(device).type,
            "torch": torch.__version__, "torchxrayvision": XRV_VERSION, "code": EMBEDDING_CODE_VERSION}, source


def densenet_cache(home: Home, identity: dict) -> EmbeddingCache:
    """The home's cache of image vectors for one identity: keyed by dicom_id and the sha256 of the input tensor."""
    return EmbeddingCache(home, "cxr_densenet121_chex", identity, key=list(CACHE_KEY), vectors=["dense", "pathologies"])


def normalize_batch(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, H, W] -> float32 [N, 1, H, W] in [-1024, 1024]: `xrv.datasets.normalize(img, 255)`, batched
    (same float32 operations in the same order, so the values are identical)."""
    x = images.to(torch.float32)
    return ((2 * (x / 255) - 1.0) * 1024).unsqueeze(1)


def forward_both(model: xrv.models.DenseNet, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(dense [N, 1024], pathologies [N, 18]) with ONE pass through `model.features`.

    dense = `model.features2(x)`; pathologies = `model(x)` (classifier -> sigmoid -> op_norm when the model
    has thresholds, else sigmoid when `apply_sigmoid`, else the logits)."""
    feats = model.features(x)
    dense = F.adaptive_avg_pool2d(F.relu(feats), (1, 1)).flatten(1)
    out = model.classifier(dense).float()
    threshs = getattr(model, "op_threshs", None)
    if threshs is not None:
        out = xrv.models.op_norm(torch.sigmoid(out), threshs.to(out.device, torch.float32))
    elif getattr(model, "apply_sigmoid", False):
        out = torch.sigmoid(out)
    return dense.float(), out


def _untrained_mask(model) -> torch.Tensor:
    threshs = getattr(model, "op_threshs", None)
    if threshs is not None:
        return torch.isnan(threshs.detach().cpu().float())
    return torch.tensor([not t for t in model.pathologies]) if hasattr(model, "pathologies") \
        else torch.zeros(N_PATHOLOGIES, dtype=torch.bool)


def embed_arrays(
    images: np.ndarray,
    model: xrv.models.DenseNet,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    progress=None,
) -> tuple[np.ndarray, np.ndarray]:
    """uint8 [N, 224, 224] -> (dense float32 [N, 1024], pathologies float32 [N, 18]), batched, no grad.

    Untrained outputs are set to UNTRAINED_VALUE; raises ClinfuseError if anything is still non-finite."""
    device = resolve_device(device) if isinstance(device, str) else device
    # channels-last: oneDNN's (and cuDNN's) faster convolution layout, about 1.3x on a 2-core CPU (bench/)
    model = model.to(device, memory_format=torch.channels_last).eval()
    untrained = _untrained_mask(model)
    n = images.shape[0]
    dense = np.empty((n, DENSE_DIM), np.float32)
    paths = np.empty((n, N_PATHOLOGIES), np.float32)
    if not images.flags.writeable:  # e.g. np.frombuffer over stored bytes; torch wants writable memory
        images = images.copy()
    source = torch.from_numpy(np.ascontiguousarray(images))
    if device.type == "cuda":
        source = source.pin_memory()
    with torch.inference_mode(), autocast(device):
        for lo in range(0, n, batch_size):
            x = normalize_batch(source[lo:lo + batch_size].to(device, non_blocking=True))
            d, p = forward_both(model, x.contiguous(memory_format=torch.channels_last))
            dense[lo:lo + batch_size] = d.cpu().numpy()
            paths[lo:lo + batch_size] = p.cpu().numpy()
            if progress is not None:  # features.progress.Progress: images done
                progress.update(min(batch_size, n - lo))
    paths[:, untrained.numpy()] = UNTRAINED_VALUE
    return dense, paths


def embed_images(
    tensors: pl.DataFrame,
    model: xrv.models.DenseNet,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    *,
    use_clahe: bool = False,
    weights_source: str | None = None,
    progress=None,
) -> pl.DataFrame:
    """Embed every row of a tensor table (features.cxr_tensors) -> EMBEDDING_SCHEMA rows, same order.

    Input column `plain` (HAIM: no CLAHE) unless `use_clahe`. `weights_source` (from `load_densenet`) is
    stored on every row; default: taken from the model (`random-init` for a weights=None model)."""
    column = "clahe" if use_clahe else "plain"
    if weights_source is None:
        path = getattr(model, "weights_filename_local", None)
        weights_source = f"torchxrayvision:{model.weights} ({path})" if getattr(model, "weights", None) else RANDOM_INIT
    chunk = max(batch_size, 1024)  # convert bytes -> arrays a chunk at a time (bounded memory)
    dense_parts, path_parts = [], []
    for lo in range(0, tensors.height, chunk):
        d, p = embed_arrays(tensors_to_array(tensors.slice(lo, chunk), column), model, device, batch_size,
                            progress)
        dense_parts.append(d)
        path_parts.append(p)
    dense = np.concatenate(dense_parts) if dense_parts else np.empty((0, DENSE_DIM), np.float32)
    paths = np.concatenate(path_parts) if path_parts else np.empty((0, N_PATHOLOGIES), np.float32)
    bad = ~(np.isfinite(dense).all(axis=1) & np.isfinite(paths).all(axis=1))
    if bad.any():
        ids = tensors["dicom_id"].filter(pl.Series(bad)).head(5).to_list()
        raise ClinfuseError(f"DenseNet embeddings: {int(bad.sum())} image(s) gave NaN/inf outputs "
                            f"(e.g. {ids}); weights source {weights_source}")
    keys = tensors.select("dicom_id", "subject_id", "study_id", "study_datetime", "view_position")
    frame = keys.with_columns(
        pl.Series("dense", dense, pl.Array(pl.Float32, DENSE_DIM)),
        pl.Series("pathologies", paths, pl.Array(pl.Float32, N_PATHOLOGIES)),
        pl.lit(weights_source, pl.String).alias("weights_source"),
    )
    return frame.cast(EMBEDDING_SCHEMA)


def with_fixed_widths(frame: pl.DataFrame) -> pl.DataFrame:
    """An embedding table read back from Parquet (where `dense`/`pathologies` are variable lists: Parquet has
    no fixed-size list, and DuckDB writes Arrow fixed-size lists as LIST) -> EMBEDDING_SCHEMA dtypes."""
    out = frame
    for name, width in (("dense", DENSE_DIM), ("pathologies", N_PATHOLOGIES)):
        if name in out.columns and isinstance(out.schema[name], pl.List):
            out = out.with_columns(pl.col(name).cast(pl.List(pl.Float32)).list.to_array(width))
    return out


def images_to_embed(home: Home) -> int:
    """Rows of features.cxr_tensors (0 when the source has no MIMIC-CXR images or it was never built)."""
    from warehouse.lake import open_lake

    if not home.table_dir("features", "cxr_tensors").is_dir():
        return 0
    con = open_lake(home)
    try:
        return con.execute("SELECT count(*) FROM features.cxr_tensors").fetchone()[0]
    finally:
        con.close()


def load_tensors(home: Home, shard: int | None = None, shards: int = DEFAULT_SHARDS) -> pl.DataFrame:
    """The shard's rows of the lake table features.cxr_tensors (written by the caller from build_tensors)."""
    from warehouse.lake import open_lake, shard_filter

    table = home.table_dir("features", "cxr_tensors")
    if not table.is_dir():
        raise ClinfuseError("features.cxr_tensors does not exist: build the CXR tensors first")
    con = open_lake(home)
    try:
        return con.sql("SELECT dicom_id, subject_id, study_id, study_datetime, view_position, height, width, "
                       f"clahe, plain FROM features.cxr_tensors WHERE {shard_filter(shard, shards)} "
                       "ORDER BY subject_id, dicom_id").pl()
    finally:
        con.close()


def build_embeddings(
    tensors: pl.DataFrame,
    policy: str | None = None,
    cache_dir: str | os.PathLike | None = None,
    device: str = "auto",
    batch_size: int = 64,
    *,
    use_clahe: bool = False,
    model: tuple[xrv.models.DenseNet, str] | Callable[[], tuple[xrv.models.DenseNet, str]] | None = None,
    cache: EmbeddingCache | None = None,
    shard: int = 0,
    weights_source: str | None = None,
    progress=None,
) -> tuple[pl.DataFrame, dict]:
    """Embed `tensors`: the images `cache` holds (see densenet_cache) are read from it, the others embedded and
    added to it. `model`: load_densenet's result, or a function returning it (called only when an image must
    be embedded; the caller makes it load once per run); default: load_densenet(policy, cache_dir) on demand.
    `weights_source` (from densenet_identity) is what the rows record; needed with a cache, where possibly no
    model is loaded.

    Returns (EMBEDDING_SCHEMA frame, stats: images, cache_hits, cache_misses, seconds, images_per_second,
    device, weights_source, input column, xrv version, pathologies, untrained)."""
    column = "clahe" if use_clahe else "plain"
    if cache is not None and weights_source is None:
        raise ValueError("build_embeddings with a cache needs the weights_source of densenet_identity")
    dev = resolve_device(device)
    loaded: list = [model] if isinstance(model, tuple) else []

    def embed(mask: pl.Series) -> pl.DataFrame:
        if not mask.any():  # nothing to embed: no model is loaded (e.g. a source without images)
            return pl.DataFrame(schema={c: EMBEDDING_SCHEMA[c] for c in ("dense", "pathologies")})
        if not loaded:
            loaded.append(model() if callable(model) else load_densenet(policy, cache_dir))
        net, source = loaded[0]
        if weights_source is not None and source != weights_source:
            raise ClinfuseError(f"DenseNet weights changed during the run: {weights_source} -> {source}")
        part = embed_images(tensors.filter(mask), net, dev, batch_size, use_clahe=use_clahe, weights_source=source,
                            progress=progress)
        return part.select("dense", "pathologies")

    start = time.perf_counter()
    keys = tensors.select("dicom_id")
    if cache is not None:
        keys = keys.with_columns(content_sha256(tensors, column).alias(CACHE_KEY[1]))
    vectors, counts = embed_cached(cache, shard, keys, embed)
    if progress is not None and counts["cache_hits"]:
        progress.update(counts["cache_hits"])
    seconds = time.perf_counter() - start
    source = weights_source or (loaded[0][1] if loaded else NO_SOURCE)
    frame = pl.concat([tensors.select("dicom_id", "subject_id", "study_id", "study_datetime", "view_position"),
                       vectors], how="horizontal").with_columns(pl.lit(source, pl.String).alias("weights_source"))
    net = loaded[0][0] if loaded else None
    return frame.cast(EMBEDDING_SCHEMA), {
        "images": frame.height, **counts, "seconds": round(seconds, 3),
        "images_per_second": round(frame.height / seconds, 1) if seconds > 0 and frame.height else 0.0,
        "device": str(dev), "weights_source": source, "input": column,
        "torchxrayvision": XRV_VERSION, "pathologies": list(PATHOLOGIES), "untrained": list(UNTRAINED),
        "model_pathologies": list(getattr(net, "pathologies", PATHOLOGIES)), "input_size": CROP,
    }
