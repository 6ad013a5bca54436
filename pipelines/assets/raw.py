"""`raw/*`: one asset per MIMIC table, each streamed from its CSV into the lake by DuckDB."""


import dagster as dg

from pipelines.resources import ClinfuseResource
from warehouse.ingest import (
    INGEST_CODE_VERSION,
    TableResult,
    ingest_cxr_images,
    ingest_table,
    publish_raw,
    schema_problems,
    write_sources,
)
from warehouse.lake import catalog
from warehouse.tables import TABLES, Table
from warehouse.versions import content_version

SOURCE_NAMES = {"mimic_iv": "MIMIC-IV", "mimic_note": "MIMIC-IV-Note", "mimic_cxr": "MIMIC-CXR-JPG"}


def _metadata(result: TableResult) -> dict:
    return {
        "rows": dg.MetadataValue.int(result.rows),
        "status": result.status,
        "source_file": result.path or "(absent in the source: empty table)",
        "release": result.release or "",
        "sha256": result.sha256 or "",
        "checksum": result.checksum or "no SHA256SUMS.txt",
        "expected_rows": result.expected_rows if result.expected_rows is not None else "no manifest",
        "nonfinite_to_null": dg.MetadataValue.int(result.nonfinite_values),  # NaN/inf values stored as NULL
    }


def _checks(table: Table, result: TableResult, home) -> list[dg.AssetCheckResult]:
    problems = schema_problems(home, table)
    return [
        dg.AssetCheckResult(check_name="schema", passed=not problems,
                            severity=dg.AssetCheckSeverity.ERROR,
                            metadata={"problems": "; ".join(problems) or "none"}),
        dg.AssetCheckResult(check_name="manifest_rows", passed=result.manifest_ok,
                            severity=dg.AssetCheckSeverity.WARN,
                            metadata={"rows": result.rows, "expected": result.expected_rows or -1}),
    ]


def _raw_asset(table: Table) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", table.name])

    @dg.asset(
        key=key,
        group_name="raw",
        code_version=INGEST_CODE_VERSION,
        kinds={"duckdb", "parquet"},
        description=(f"{SOURCE_NAMES[table.source]} `{table.stem}` as typed Parquet, view `raw.{table.name}`. "
                     + ("Sharded by subject_id % N and sorted by subject." if table.per_patient else "")),
        check_specs=[dg.AssetCheckSpec("schema", asset=key, description="columns and types equal the registry",
                                       blocking=True),
                     dg.AssetCheckSpec("manifest_rows", asset=key,
                                       description="row count equals the known release's manifest (warning)")],
    )
    def raw_table(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource, shards: dg.ResourceParam[int]):
        home = clinfuse.open_home()
        layout = clinfuse.layouts().get(table.source)
        result = ingest_table(home, table, layout, shards=shards)
        publish_raw(home, [table.name])
        context.log.info(f"raw.{table.name}: {result.rows} rows ({result.status})")
        # the file's content is the data version: an unchanged file re-ingested leaves everything downstream up to date
        return dg.MaterializeResult(metadata=_metadata(result), check_results=_checks(table, result, home),
                                    data_version=dg.DataVersion(f"{INGEST_CODE_VERSION}:{result.sha256 or result.status}"))

    return raw_table


@dg.asset(key=["raw", "cxr_images"], group_name="raw", code_version=INGEST_CODE_VERSION,
          kinds={"parquet"}, description="Every MIMIC-CXR-JPG image file with its size and a readable flag.")
def raw_cxr_images(clinfuse: ClinfuseResource, shards: dg.ResourceParam[int]) -> dg.MaterializeResult:
    home = clinfuse.open_home()
    result = ingest_cxr_images(home, clinfuse.layouts().get("mimic_cxr"), shards)
    publish_raw(home, ["cxr_images"])
    # the image list (path, size, readable) is the data version: an image added, removed or rewritten changes it
    return dg.MaterializeResult(metadata={"rows": result.rows, "status": result.status},
                                data_version=dg.DataVersion(content_version(home.table_dir("raw", "cxr_images"))))


RAW_TABLE_ASSETS = [_raw_asset(t) for t in TABLES.values()]


@dg.asset(key=["raw", "sources"], group_name="raw", code_version=INGEST_CODE_VERSION, pool="duckdb",
          deps=[a.key for a in RAW_TABLE_ASSETS] + [raw_cxr_images.key],
          description="Where every raw table came from: file, size, sha256, rows, checksum and manifest results.")
def raw_sources(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource) -> dg.MaterializeResult:
    home = clinfuse.open_home()
    rows = write_sources(home)
    publish_raw(home, ["sources"])
    with catalog(home, write=False) as con:
        bad = con.execute("SELECT \"table\", path FROM raw.sources WHERE checksum = 'mismatch' ORDER BY 1").fetchall()
    for table, path in bad:
        context.log.warning(f"checksum mismatch: {path} (raw.{table})")
    return dg.MaterializeResult(metadata={
        "tables": rows, "checksum_mismatches": dg.MetadataValue.md("\n".join(f"- `{p}`" for _, p in bad) or "none"),
    }, data_version=dg.DataVersion(content_version(home.table_dir("raw", "sources"))))


ASSETS = [*RAW_TABLE_ASSETS, raw_cxr_images, raw_sources]
