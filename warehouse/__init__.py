"""MIMIC files -> Parquet lake + DuckDB catalog: source layouts, table schemas, manifests, ingest, the synthetic generator."""
