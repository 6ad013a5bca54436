"""`cohorts/icu_stays`, `cohorts/los`: SQL over the raw views (warehouse/sql/cohorts/*.sql)."""

import dagster as dg

from pipelines.assets.sqldeps import sql_deps
from pipelines.resources import ClinfuseResource
from warehouse.cohorts import COHORTS, build_cohort, cohort_sql_path, describe_cohort
from warehouse.lake import catalog
from warehouse.versions import TIME_RULES, content_version, source_version


def _summary(home, name: str) -> dict:
    sql = {
        "icu_stays": "SELECT count(*), sum(mortality_inhospital), sum(mortality_inunit), count(DISTINCT subject_id) FROM cohorts.icu_stays",
        "los": "SELECT count(*), sum(hospital_expire_flag), median(los_hospital_days), median(los_icu_days) FROM cohorts.los",
    }[name]
    with catalog(home, write=False) as con:
        row = con.execute(sql).fetchone()
    if name == "icu_stays":
        return {"stays": row[0], "in_hospital_deaths": int(row[1] or 0), "in_unit_deaths": int(row[2] or 0),
                "subjects": row[3], "mortality_rate": round((row[1] or 0) / row[0], 4) if row[0] else 0.0}
    return {"stays": row[0], "hospital_expire": int(row[1] or 0),
            "median_hospital_los_days": float(row[2] or 0), "median_icu_los_days": float(row[3] or 0)}


def _cohort_asset(name: str) -> dg.AssetsDefinition:
    key = dg.AssetKey(["cohorts", name])
    deps = sql_deps(cohort_sql_path(name), produces=("cohorts", name))  # the tables its SQL reads
    code_version = source_version("warehouse/cohorts.py", cohort_sql_path(name), *TIME_RULES)

    @dg.asset(key=key, group_name="cohorts", code_version=code_version, deps=deps, kinds={"duckdb", "sql"},
              description=describe_cohort(name),
              check_specs=[dg.AssetCheckSpec("keys_not_null", asset=key, blocking=True,
                                             description="subject_id, hadm_id and stay_id are never null")])
    def cohort(context: dg.AssetExecutionContext, clinfuse: ClinfuseResource, shards: dg.ResourceParam[int]):
        home = clinfuse.open_home(context)
        rows = build_cohort(home, name, shards)
        with catalog(home, write=False) as con:
            nulls = con.execute(f"SELECT count(*) FROM cohorts.{name} WHERE subject_id IS NULL "
                                f"OR hadm_id IS NULL OR stay_id IS NULL").fetchone()[0]
        return dg.MaterializeResult(
            metadata={"rows": rows, **_summary(home, name), "rules": dg.MetadataValue.md(describe_cohort(name))},
            check_results=[dg.AssetCheckResult(check_name="keys_not_null", passed=nulls == 0,
                                               metadata={"null_keys": nulls})],
            data_version=dg.DataVersion(content_version(home.table_dir("cohorts", name))),
        )

    return cohort


ASSETS = [_cohort_asset(name) for name in COHORTS]
