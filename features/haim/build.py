"""`features.haim`: HAIM's embedding table, one row per `cohorts.haim_samples` row (SPEC §4 item 7,
reference-pipelines.md §4).

The cohort is built first by `features.haim.cohort.build_haim_samples` (SQL: warehouse/sql/cohorts/haim_samples.sql).
Pipeline per shard (``shard=None``: every sample at once); no Python loop over samples, events or images:

    cohorts.haim_samples ─┬─ events.sql (DuckDB) ──── series_statistics (Polars) ──────────► ts_ce/ts_le/ts_pe
                          ├─ images.sql (DuckDB) ─┬── time weights (Polars) ─ sparse W @ E ─► vmd/vmp
                          │  embeddings.cxr_densenet121_chex ──┴────── own image ────────────► vd/vp
                          ├─ notes.sql (DuckDB) over embeddings.notes_clinicalbert_notes ────► n_<type> (768 each)
                          └─ raw patients/admissions (whole-table vocabularies) ─────────────► de_0..5

Modes (the default `fixed` is leakage-free; `faithful` reproduces HAIM's code for comparison runs):

| what | fixed (default) | faithful (HAIM) |
|---|---|---|
| time bound, chart/lab | charttime < prediction_time | charttime <= prediction time floored to the minute; null times kept |
| procedures | starttime < prediction_time; time-unit durations clipped at the prediction time | never time-filtered (§7 item 18), not clipped |
| statistics | time order, no appended value | table (storage) order, a 0 appended to every series (§7 item 20) |
| earlier images (vmd/vmp) | same admission, study_datetime < prediction_time | any admission of the subject, floored time <= floored prediction time (own image and study included); k-th weight paired with the subject's k-th image in storage order (§7 item 19) |
| image weights | 1 + (t − t_min)/(t_max − t_min), normalised; single image -> 1 | (t − t_min)/(t_max − t_min); single image or one time -> 0/0 -> zeros; NaN output -> zeros |
| notes | charttime < prediction_time and stored before it; own-study radiology report excluded | charttime <= floored prediction time (own study report included, §7 item 23) |
| note weights | same scheme as images, one weight per note | hours since admittime x n_chunks (raw; sum 0 -> zeros) |
| NaN pathology outputs (vp/vmp) | counted in stats, replaced by 0 | vp keeps NaN; vmp -> zeros if any NaN |

Not reproduced by faithful: the ECG/echo note sources (not public; any `source` of the notes table can be asked
for), HAIM's duplication of samples per ICU stay (see the cohort), the note chunking (the notes table is already
per note: HAIM's chunk-level weights become per-note weight x n_chunks), and HAIM's CSV row order.

Shared by both modes: the cohort (one sample per (image, admission), see cohorts.haim_samples — HAIM repeats it
per ICU stay), scopes (chart/procedure: the sample's stay; labs, notes: its admission), exact label matching,
demographic codes over whole tables, NaN statistics -> 0, no events -> zeros.

Missing embeddings are nulls, never zero vectors (`missing_embedding_masks`): vd/vp are null when the sample's own
image has no row in embeddings.cxr_densenet121_chex, vmd/vmp when any of its earlier images has none, and a note
block when embeddings.notes_clinicalbert_notes was never built (which notes exist is then unknown). `stats
["missing_embeddings"]` counts the samples per block and `stats["warnings"]` (also issued as Python warnings) says
why. Nothing to embed is not missing: no earlier image, or no note of a type, gives HAIM's zeros (has_prior_cxr
false, note count 0).

Output: features.haim (fixed) / features.haim_faithful, one row per sample, columns
KEY_COLUMNS · flag_columns(note_types) · de · vd · vp · vmd · vmp · ts_ce · ts_le · ts_pe · n_<type>... (layout.py);
de_/ts_ Float64, vision/notes Float32. asof_time = the latest time of anything used, the own image included
(= prediction_time when the own image embedding exists; never later in the fixed mode).
"""

from __future__ import annotations

import time
import warnings as _warnings
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from features.haim.demographics import demographic_codes, demographic_vocabularies, load_demographics
from features.haim.layout import (
    DEFAULT_NOTE_TYPES,
    DENSE_DIM,
    HAIM_DIMENSIONS,
    KEY_COLUMNS,
    NOTE_DIM,
    PATHOLOGY_DIM,
    STATISTICS,
    TS_SOURCES,
    block_columns,
    check_mode,
    flag_columns,
    note_count_column,
    note_prefix,
)
from features.haim.stats import series_statistics
from features.haim.time_weights import fixed_time_weights, haim_time_weights, weighted_average
from warehouse.lake import (
    DEFAULT_SHARDS,
    ClinfuseError,
    Home,
    open_lake,
    parquet_glob,
    shard_filter,
    sql_str,
)

SQL_DIR = Path(__file__).parent
HAIM_SQL_FILES = tuple(SQL_DIR / name for name in ("events.sql", "images.sql", "notes.sql"))
CXR_TABLE = "cxr_densenet121_chex"
NOTES_TABLE = "notes_clinicalbert_notes"
SOURCE_NAMES = {"ce": "chart", "le": "lab", "pe": "procedure"}
_TS_OFFSET = {}
_o = 0
for _src, (_prefix, _signals) in TS_SOURCES.items():
    _TS_OFFSET[_src] = _o
    _o += len(_signals) * len(STATISTICS)
TS_WIDTH = _o  # 451


# ---------------------------------------------------------------- inputs




def table_scan(home: Home, schema: str, table: str, *, storage_order: bool = False) -> str | None:
    """A read_parquet(...) expression over a lake table, or None when the table has no Parquet file.

    `storage_order` adds `filename` and `file_row_number`, the order rows are stored in (HAIM's "table order")."""
    table_dir = home.table_dir(schema, table)
    if not table_dir.is_dir() or next(table_dir.rglob("*.parquet"), None) is None:
        return None
    hive = "true" if any(p.name.startswith("shard=") for p in table_dir.iterdir()) else "false"
    extra = ", filename = true, file_row_number = true" if storage_order else ""
    return f"read_parquet({sql_str(parquet_glob(table_dir))}, hive_partitioning = {hive}, union_by_name = true{extra})"


def _sql(name: str, **scans: str) -> str:
    text = (SQL_DIR / name).read_text()
    for key, value in scans.items():
        text = text.replace("{" + key + "}", value)
    return text




def load_samples(con: duckdb.DuckDBPyConnection, shard: int | None = None,
                 shards: int = DEFAULT_SHARDS) -> pl.DataFrame:
    """The shard's samples of cohorts.haim_samples (the columns features.haim needs), in output order."""
    try:
        return con.sql(
            "SELECT sample_id, subject_id, hadm_id, stay_id, dicom_id, study_id, prediction_time, admittime "
            f"FROM cohorts.haim_samples WHERE {shard_filter(shard, shards)} "
            "ORDER BY subject_id, prediction_time, sample_id"
        ).pl()
    except duckdb.CatalogException:
        raise ClinfuseError("cohorts.haim_samples does not exist: build it first "
                            "(features.haim.cohort.build_haim_samples)") from None


def _signals_frame() -> pl.DataFrame:
    rows = [(src, i, label) for src, (_, labels) in TS_SOURCES.items() for i, label in enumerate(labels)]
    return pl.DataFrame(rows, schema={"source": pl.String, "signal": pl.Int32, "label": pl.String}, orient="row")


@dataclass
class Selection:
    """What enters one shard's features, before any aggregation (also what the leakage helper reports)."""

    mode: str
    note_types: tuple[str, ...]
    samples: pl.DataFrame  # output order; column _row = position
    events: pl.DataFrame  # sample_id, source (ce/le/pe), signal, event_time, value, file, row_in_file
    images: pl.DataFrame  # sample_id, filtered_dicom_id, weight_time, used_dicom_id, used_image_time, _emb
    notes: pl.DataFrame  # sample_id, note_type, note_id, charttime, storetime, n_chunks, hours_since_admit, available_time, _emb
    own_emb: pl.Series  # per sample: row of the own image in cxr_dense (null when absent)
    cxr_dense: np.ndarray  # (m, 1024) float32
    cxr_path: np.ndarray  # (m, 18) float32
    note_matrix: np.ndarray  # (k, 768) float32
    warnings: list[str] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    notes_table_missing: bool = False  # embeddings.notes_clinicalbert_notes never built: note blocks unknown


def _cxr_embeddings(con, home, dicom_ids: pl.Series, info: dict, warn: list[str]) -> pl.DataFrame | None:
    scan = table_scan(home, "embeddings", CXR_TABLE)
    if scan is None:
        warn.append(f"embeddings.{CXR_TABLE} is missing: vd/vp (and vmd/vmp where there are earlier images) "
                    "are null (has_cxr_embedding = false)")
        return None
    con.register("_haim_needed", pl.DataFrame({"dicom_id": dicom_ids.unique()}).to_arrow())
    try:
        emb = con.sql(
            f"SELECT dicom_id, dense, pathologies, weights_source FROM {scan} "
            "WHERE dicom_id IN (SELECT dicom_id FROM _haim_needed) ORDER BY dicom_id, weights_source"
        ).pl()
    finally:
        con.unregister("_haim_needed")
    dup = emb.height - emb["dicom_id"].n_unique()
    if dup:
        warn.append(f"embeddings.{CXR_TABLE}: {dup} duplicate dicom_id rows; the first (by weights_source) is used")
        emb = emb.unique(subset="dicom_id", keep="first", maintain_order=True)
    info["cxr_weights_source"] = sorted({str(w) for w in emb["weights_source"].unique().to_list()})
    if "random-init" in info["cxr_weights_source"]:
        warn.append(f"embeddings.{CXR_TABLE} was computed with randomly initialised weights (random-init)")
    return emb.with_columns(
        pl.col("dense").cast(pl.Array(pl.Float32, DENSE_DIM)),
        pl.col("pathologies").cast(pl.Array(pl.Float32, PATHOLOGY_DIM)),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_emb"),
    )


def _note_embeddings(con, home, note_ids: pl.Series, info: dict) -> pl.DataFrame:
    scan = table_scan(home, "embeddings", NOTES_TABLE)
    con.register("_haim_needed", pl.DataFrame({"note_id": note_ids.unique()}).to_arrow())
    try:
        emb = con.sql(
            f"SELECT note_id, embedding, weights_source FROM {scan} "
            "WHERE note_id IN (SELECT note_id FROM _haim_needed) ORDER BY note_id, weights_source"
        ).pl().unique(subset="note_id", keep="first", maintain_order=True)
    finally:
        con.unregister("_haim_needed")
    info["notes_weights_source"] = sorted({str(w) for w in emb["weights_source"].unique().to_list()})
    return emb.with_columns(pl.col("embedding").cast(pl.Array(pl.Float32, NOTE_DIM)),
                            pl.int_range(pl.len(), dtype=pl.Int64).alias("_emb"))


_NOTE_SCHEMA = {"sample_id": pl.String, "note_type": pl.String, "note_id": pl.String,
                "charttime": pl.Datetime("us"), "storetime": pl.Datetime("us"), "n_chunks": pl.Int32,
                "hours_since_admit": pl.Float64, "available_time": pl.Datetime("us"), "_emb": pl.Int64}


def select_sources(
    con: duckdb.DuckDBPyConnection,
    home: Home,
    samples: pl.DataFrame,
    mode: str = "fixed",
    note_types: tuple[str, ...] = DEFAULT_NOTE_TYPES,
) -> Selection:
    """Every event, earlier image and note that enters the features of `samples` (one DuckDB pass each)."""
    check_mode(mode)
    note_types = tuple(note_types)
    faithful = mode == "faithful"
    warn: list[str] = []
    info: dict = {}
    samples = samples.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"))
    con.register("_haim_samples", samples.drop("_row").to_arrow())
    con.register("_haim_signals", _signals_frame().to_arrow())
    con.register("_haim_note_types", pl.DataFrame({"source": list(note_types)}, schema={"source": pl.String}).to_arrow())
    try:
        scans = {f"raw.{t}": table_scan(home, "raw", t, storage_order=True)
                 for t in ("icu_chartevents", "hosp_labevents", "icu_procedureevents")}
        missing = [t for t, s in scans.items() if s is None]
        if missing:
            raise ClinfuseError(f"raw tables missing from the lake: {', '.join(missing)}; run `clinfuse ingest` first")
        events = con.sql(_sql("events.sql", **scans), params={"faithful": faithful}).pl()
        split_scan = table_scan(home, "raw", "cxr_split", storage_order=True) or \
            "(SELECT NULL::VARCHAR AS dicom_id, NULL::VARCHAR AS filename, NULL::BIGINT AS file_row_number)"
        images = con.sql(_sql("images.sql", **{"raw.cxr_split": split_scan}), params={"faithful": faithful}).pl()
        notes_scan = table_scan(home, "embeddings", NOTES_TABLE)
        if notes_scan is None:
            if note_types:
                warn.append(f"embeddings.{NOTES_TABLE} is missing: the note blocks are null (note counts 0)")
            notes = pl.DataFrame(schema=_NOTE_SCHEMA)
            note_emb = None
        else:
            notes = con.sql(_sql("notes.sql", **{f"embeddings.{NOTES_TABLE}": notes_scan}), params={"faithful": faithful}).pl()
            note_emb = _note_embeddings(con, home, notes["note_id"], info)
        cxr = _cxr_embeddings(con, home, pl.concat([samples["dicom_id"], images["used_dicom_id"].drop_nulls()]),
                              info, warn)
    finally:
        for name in ("_haim_samples", "_haim_signals", "_haim_note_types"):
            con.unregister(name)

    if cxr is None:
        dense = np.zeros((0, DENSE_DIM), np.float32)
        path = np.zeros((0, PATHOLOGY_DIM), np.float32)
        index = pl.DataFrame(schema={"dicom_id": pl.String, "_emb": pl.Int64})
    else:
        dense = cxr["dense"].to_numpy().reshape(cxr.height, DENSE_DIM).astype(np.float32)
        path = cxr["pathologies"].to_numpy().reshape(cxr.height, PATHOLOGY_DIM).astype(np.float32)
        index = cxr.select("dicom_id", "_emb")
        info["nan_pathology_values"] = int(np.isnan(path).sum())
        if info["nan_pathology_values"]:
            warn.append(f"embeddings.{CXR_TABLE}: {info['nan_pathology_values']} NaN pathology outputs "
                        f"({'kept in vp, vmp -> zeros' if faithful else 'replaced by 0'})")
    own = samples.select("dicom_id").join(index, on="dicom_id", how="left", maintain_order="left")["_emb"]
    images = images.join(index.rename({"dicom_id": "used_dicom_id"}), on="used_dicom_id", how="left")
    if note_emb is None:
        note_matrix = np.zeros((0, NOTE_DIM), np.float32)
        notes = notes.with_columns(pl.lit(None, dtype=pl.Int64).alias("_emb")) if "_emb" not in notes.columns else notes
    else:
        note_matrix = note_emb["embedding"].to_numpy().reshape(note_emb.height, NOTE_DIM).astype(np.float32)
        notes = notes.join(note_emb.select("note_id", "_emb"), on="note_id", how="left")
    return Selection(mode, note_types, samples, events, images, notes, own, dense, path, note_matrix, warn, info,
                     notes_table_missing=note_emb is None and bool(note_types))


# ---------------------------------------------------------------- what entered (leakage helper)


def _used_images(sel: Selection) -> pl.DataFrame:
    return sel.images.filter(pl.col("_emb").is_not_null())


def _used_notes(sel: Selection) -> pl.DataFrame:
    return sel.notes.filter(pl.col("_emb").is_not_null())


def source_times(sel: Selection, *, include_own_image: bool = False) -> pl.DataFrame:
    """Long frame: sample_id, prediction_time, source, max_time (latest time that entered), n (items).

    Sources: chart, lab, procedure (event time: charttime / starttime), prior_cxr (time of each image whose
    embedding entered vmd/vmp), note_<type> (available time: the later of charttime and storetime), and with
    `include_own_image` own_cxr (the sample's own image: its time IS the prediction time)."""
    parts = [
        sel.events.filter(pl.col("event_time").is_not_null())
        .group_by("sample_id", "source").agg(pl.col("event_time").max().alias("max_time"), pl.len().alias("n"))
        .with_columns(pl.col("source").replace_strict(SOURCE_NAMES, return_dtype=pl.String)),
        _used_images(sel).group_by("sample_id").agg(pl.col("used_image_time").max().alias("max_time"),
                                                   pl.len().alias("n"))
        .with_columns(pl.lit("prior_cxr").alias("source")),
        _used_notes(sel).group_by("sample_id", "note_type").agg(pl.col("available_time").max().alias("max_time"),
                                                               pl.len().alias("n"))
        .with_columns(pl.concat_str(pl.lit("note_"), pl.col("note_type")).alias("source")).drop("note_type"),
    ]
    if include_own_image:
        parts.append(sel.samples.filter(sel.own_emb.is_not_null())
                     .select("sample_id", pl.lit("own_cxr").alias("source"),
                             pl.col("prediction_time").alias("max_time"), pl.lit(1, pl.UInt32).alias("n")))
    cols = ["sample_id", "source", "max_time", "n"]
    long = pl.concat([p.select(pl.col("sample_id"), pl.col("source"),
                               pl.col("max_time").cast(pl.Datetime("us")), pl.col("n").cast(pl.Int64))
                      for p in parts])
    return (sel.samples.select("sample_id", "prediction_time").join(long.select(cols), on="sample_id")
            .sort("sample_id", "source"))


def feature_times(
    home: Home,
    shard: int | None = None,
    shards: int = DEFAULT_SHARDS,
    mode: str = "fixed",
    note_types: tuple[str, ...] = DEFAULT_NOTE_TYPES,
    *,
    include_own_image: bool = False,
) -> pl.DataFrame:
    """For each sample and source, the latest time of anything that entered its features (see source_times).

    A leakage test asserts `max_time < prediction_time` on every row: true in the fixed mode by construction,
    false in the faithful mode wherever HAIM leaks (procedures, ≤ bounds, own image/study, misaligned images)."""
    con = open_lake(home)
    try:
        samples = load_samples(con, shard, shards)
        sel = select_sources(con, home, samples, mode, note_types)
    finally:
        con.close()
    return source_times(sel, include_own_image=include_own_image)


# ---------------------------------------------------------------- features


def timeseries_block(sel: Selection) -> tuple[np.ndarray, pl.DataFrame]:
    """(n, 451) float64 ts_ce|ts_le|ts_pe matrix and per-sample event counts (sample_id, source, n)."""
    faithful = sel.mode == "faithful"
    order = ["file", "row_in_file"] if faithful else ["event_time", "file", "row_in_file"]
    stats = series_statistics(sel.events, ["sample_id", "source", "signal"], order, append_zero=faithful)
    out = np.zeros((sel.samples.height, TS_WIDTH), dtype=np.float64)
    if stats.height:
        stats = stats.join(sel.samples.select("sample_id", "_row"), on="sample_id")
        base = (stats["source"].replace_strict(_TS_OFFSET, return_dtype=pl.Int64).to_numpy()
                + stats["signal"].cast(pl.Int64).to_numpy() * len(STATISTICS))
        cols = base[:, None] + np.arange(len(STATISTICS))[None, :]
        out[stats["_row"].to_numpy()[:, None], cols] = stats.select(STATISTICS).to_numpy()
    return out, sel.events.group_by("sample_id", "source").agg(pl.len().alias("n"))


def vision_block(sel: Selection) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(vd|vp (n, 1042), vmd|vmp (n, 1042), own-image flag, image count, vmd valid) for the samples.

    The image count is the number of images whose embedding entered vmd/vmp (faithful: the own image and its
    study included); vmd valid = the dense average is not HAIM's all-zero fallback (fixed: count > 0)."""
    n = sel.samples.height
    faithful = sel.mode == "faithful"
    own_idx = sel.own_emb.to_numpy(allow_copy=True)
    has_own = sel.own_emb.is_not_null().to_numpy()
    own = np.zeros((n, DENSE_DIM + PATHOLOGY_DIM), dtype=np.float32)
    if has_own.any():
        idx = own_idx[has_own].astype(np.int64)
        own[has_own, :DENSE_DIM] = sel.cxr_dense[idx]
        path = sel.cxr_path[idx]
        own[has_own, DENSE_DIM:] = path if faithful else np.nan_to_num(path, nan=0.0)
    imgs = sel.images.join(sel.samples.select("sample_id", "_row"), on="sample_id")
    if faithful:  # HAIM's weights come from the whole time-filtered table, before anything is dropped
        imgs = imgs.with_columns(haim_time_weights("sample_id", "weight_time").alias("_w"))
        imgs = imgs.filter(pl.col("_emb").is_not_null())
    else:
        imgs = imgs.filter(pl.col("_emb").is_not_null())
        imgs = imgs.with_columns(fixed_time_weights("sample_id", "weight_time").alias("_w"))
    rows, items, w = imgs["_row"].to_numpy(), imgs["_emb"].to_numpy(), imgs["_w"].to_numpy()
    vmd, valid = weighted_average(rows, items, w, sel.cxr_dense, n, nan_rows_to_zero=faithful)
    vmp, _ = weighted_average(rows, items, w, sel.cxr_path, n, nan_rows_to_zero=faithful)
    count = np.bincount(rows, minlength=n).astype(np.int32) if len(rows) else np.zeros(n, np.int32)
    return own, np.hstack([vmd, vmp]), has_own, count, valid


def notes_block(sel: Selection) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(n, 768·k) float32 note embeddings (note types in order) and the per-type note counts."""
    n = sel.samples.height
    faithful = sel.mode == "faithful"
    blocks, counts = [], {}
    used = _used_notes(sel).join(sel.samples.select("sample_id", "_row"), on="sample_id")
    for note_type in sel.note_types:
        part = used.filter(pl.col("note_type") == note_type)
        if faithful:
            weight = pl.col("hours_since_admit") * pl.col("n_chunks").cast(pl.Float64)
        else:
            weight = fixed_time_weights("sample_id", "charttime")
        part = part.with_columns(weight.alias("_w"))
        rows = part["_row"].to_numpy()
        avg, _ = weighted_average(rows, part["_emb"].to_numpy(), part["_w"].to_numpy(), sel.note_matrix, n)
        blocks.append(avg)
        counts[note_type] = np.bincount(rows, minlength=n).astype(np.int32) if len(rows) else np.zeros(n, np.int32)
    matrix = np.hstack(blocks) if blocks else np.zeros((n, 0), np.float32)
    return matrix, counts


def missing_embedding_masks(sel: Selection) -> dict[str, np.ndarray]:
    """Per block group, the samples whose block needs an embedding that does not exist (bool (n,) masks).

    `own_cxr` (vd, vp): the own image has no embedding row. `prior_cxr` (vmd, vmp): an earlier image that enters
    the block has none (the average would silently change). `note_<type>`: the notes embedding table is missing."""
    n = sel.samples.height
    lacking = sel.images.filter(pl.col("_emb").is_null()).select("sample_id").unique()
    prior = np.zeros(n, dtype=bool)
    prior[lacking.join(sel.samples.select("sample_id", "_row"), on="sample_id")["_row"].to_numpy()] = True
    masks = {"own_cxr": sel.own_emb.is_null().to_numpy(), "prior_cxr": prior}
    for note_type in sel.note_types:
        masks[f"note_{note_type}"] = np.full(n, sel.notes_table_missing, dtype=bool)
    return masks


def _block_groups(note_types: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """missing_embedding_masks key -> the feature blocks it nulls."""
    return {"own_cxr": ("vd", "vp"), "prior_cxr": ("vmd", "vmp"),
            **{f"note_{t}": (note_prefix(t),) for t in note_types}}


def _with_nulls(frame: pl.DataFrame, masks: dict[str, np.ndarray], note_types: tuple[str, ...]) -> pl.DataFrame:
    names = block_columns(note_types)
    exprs = []
    for group, blocks in _block_groups(note_types).items():
        if masks[group].any():
            missing = pl.Series(masks[group])
            exprs += [pl.when(missing).then(None).otherwise(pl.col(c)).alias(c) for b in blocks for c in names[b]]
    return frame.with_columns(exprs) if exprs else frame


def assemble(sel: Selection, demographics: np.ndarray) -> pl.DataFrame:
    """The features.haim rows of a selection: keys, flags, then the blocks in layout order."""
    n = sel.samples.height
    ts, ev_counts = timeseries_block(sel)
    own, prior, has_own, prior_count, prior_valid = vision_block(sel)
    notes, note_counts = notes_block(sel)
    times = source_times(sel, include_own_image=True).group_by("sample_id").agg(pl.col("max_time").max()
                                                                                .alias("asof_time"))
    keys = sel.samples.join(times, on="sample_id", how="left", maintain_order="left")
    counts = {src: sel.samples.select("sample_id").join(ev_counts.filter(pl.col("source") == src), on="sample_id",
                                                        how="left", maintain_order="left")["n"]
              .fill_null(0).cast(pl.Int32) for src in SOURCE_NAMES}
    flags = pl.DataFrame({
        "has_cxr_embedding": has_own,
        "has_prior_cxr": prior_valid,
        "prior_cxr_count": prior_count,
        "chart_event_count": counts["ce"], "lab_event_count": counts["le"], "procedure_event_count": counts["pe"],
        **{note_count_column(t): note_counts[t] for t in sel.note_types},
    })
    names = block_columns(sel.note_types)
    de_cols = names["de"]
    v_cols = names["vd"] + names["vp"] + names["vmd"] + names["vmp"]
    ts_cols = [c for p in ("ts_ce", "ts_le", "ts_pe") for c in names[p]]
    n_cols = [c for k, cols in names.items() if k.startswith("n_") for c in cols]
    parts = [
        keys.select(*(pl.col(c) for c in KEY_COLUMNS)).with_columns(pl.col("asof_time").cast(pl.Datetime("us"))),
        flags.select(flag_columns(sel.note_types)),
        pl.from_numpy(demographics.reshape(n, len(de_cols)), schema=de_cols, orient="row"),
        pl.from_numpy(np.hstack([own, prior]).reshape(n, len(v_cols)), schema=v_cols, orient="row"),
        pl.from_numpy(ts.reshape(n, len(ts_cols)), schema=ts_cols, orient="row"),
        pl.from_numpy(notes.reshape(n, len(n_cols)), schema=n_cols, orient="row"),
    ]
    return _with_nulls(pl.concat(parts, how="horizontal"), missing_embedding_masks(sel), sel.note_types)


def build_haim(
    home: Home,
    shard: int | None = None,
    shards: int = DEFAULT_SHARDS,
    mode: str = "fixed",
    note_types: tuple[str, ...] = DEFAULT_NOTE_TYPES,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> tuple[pl.DataFrame, dict]:
    """features.haim rows of one shard (`subject_id % shards == shard`) or, with `shard=None`, of every sample.

    Returns (frame, stats); stats has counts, the embedding tables' weights_source values and `warnings`
    (missing embedding tables, duplicates, NaN pathology outputs), which are also issued as Python warnings."""
    check_mode(mode)
    t0 = time.perf_counter()
    own = con is None
    con = con or open_lake(home)
    try:
        samples = load_samples(con, shard, shards)
        sel = select_sources(con, home, samples, mode, note_types)
        demo = load_demographics_for(con, samples)
    finally:
        if own:
            con.close()
    t1 = time.perf_counter()
    frame = assemble(sel, demo)
    missing = {group: int(mask.sum()) for group, mask in missing_embedding_masks(sel).items()}
    if "cxr_weights_source" in sel.info and (missing["own_cxr"] or missing["prior_cxr"]):
        sel.warnings.append(f"embeddings.{CXR_TABLE} lacks images of {missing['own_cxr']} samples (vd/vp null) "
                            f"and earlier images of {missing['prior_cxr']} (vmd/vmp null)")
    for message in sel.warnings:
        _warnings.warn(f"features.haim: {message}", stacklevel=2)
    stats = {
        "shard": shard, "mode": mode, "note_types": list(sel.note_types), "samples": frame.height,
        "events": {SOURCE_NAMES[s]: int((sel.events["source"] == s).sum()) for s in SOURCE_NAMES},
        "prior_image_pairs": _used_images(sel).height, "notes_used": _used_notes(sel).height,
        "with_cxr_embedding": int(frame["has_cxr_embedding"].sum()) if frame.height else 0,
        "with_prior_cxr": int(frame["has_prior_cxr"].sum()) if frame.height else 0,
        "dimensions": {**HAIM_DIMENSIONS, "total": len(frame.columns) - len(KEY_COLUMNS)
                       - len(flag_columns(sel.note_types))},
        "missing_embeddings": missing, **sel.info, "warnings": sel.warnings,
        "seconds_select": round(t1 - t0, 3), "seconds_total": round(time.perf_counter() - t0, 3),
    }
    return frame, stats


def load_demographics_for(con: duckdb.DuckDBPyConnection, samples: pl.DataFrame) -> np.ndarray:
    """(n, 6) de_ block for `samples` (in their order), codes over the whole raw tables."""
    vocab = demographic_vocabularies(con)
    con.register("_haim_demo_samples", samples.select("sample_id", "subject_id", "hadm_id").to_arrow())
    try:
        demo = load_demographics(con, "_haim_demo_samples")
    finally:
        con.unregister("_haim_demo_samples")
    demo = samples.select("sample_id").join(demo, on="sample_id", how="left", maintain_order="left")
    return demographic_codes(demo, vocab)


# ---------------------------------------------------------------- writing


HAIM_ORDER_BY = "subject_id, prediction_time, sample_id"  # each shard's row order (reproducible bytes)


def haim_table_name(mode: str) -> str:
    """features.haim for the fixed mode, features.haim_faithful for the comparison run."""
    return "haim" if mode == "fixed" else "haim_faithful"
