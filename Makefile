# Each target creates .venv itself when it is missing (or when pyproject.toml changed).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOME_DIR ?= .clinfuse

.PHONY: demo test ui lint bench clean

# The first install downloads about 6 GB (PyTorch with its CUDA libraries): pip shows its progress bars.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "installing clinfuse and its dependencies into $(VENV) (first time: several minutes, about 6 GB)"
	$(BIN)/python -m pip install --progress-bar on -e '.[dev]'
	@touch $(STAMP)

# Generate a small synthetic MIMIC (first run only), ingest it, materialise the whole graph, show the counts.
# Offline and on a CPU: weights auto (random-init, recorded) and a one-layer BERT of Bio_ClinicalBERT's
# widths for the notes; with the real weights cached, override CLINFUSE_NOTES_MODEL and CLINFUSE_WEIGHTS.
# Models train with the `demo` profile (a few epochs, 64-pixel images); CLINFUSE_MODEL_PROFILE=paper for the papers' settings.
# One worker: on 2 cores the step processes cost more than parallel steps save (README, `--workers`).
DEMO_ENV ?= CLINFUSE_WEIGHTS=auto CLINFUSE_NOTES_MODEL=random-init:L1 CLINFUSE_MODEL_PROFILE=demo CLINFUSE_WORKERS=1
demo: $(STAMP)
	$(DEMO_ENV) $(BIN)/clinfuse run --home $(HOME_DIR)
	$(BIN)/clinfuse sql --home $(HOME_DIR) "SELECT \"table\", rows, status FROM raw.sources WHERE status <> 'absent' ORDER BY 1"
	$(BIN)/clinfuse sql --home $(HOME_DIR) "SELECT 'cohorts.icu_stays' AS view, count(*) AS rows FROM cohorts.icu_stays UNION ALL SELECT 'cohorts.ihm_48h' AS view, count(*) AS rows FROM cohorts.ihm_48h UNION ALL SELECT 'cohorts.phenotyping' AS view, count(*) AS rows FROM cohorts.phenotyping UNION ALL SELECT 'cohorts.haim_samples' AS view, count(*) AS rows FROM cohorts.haim_samples UNION ALL SELECT 'features.timeseries_ihm' AS view, count(*) AS rows FROM features.timeseries_ihm UNION ALL SELECT 'features.timeseries_pheno' AS view, count(*) AS rows FROM features.timeseries_pheno UNION ALL SELECT 'features.cxr_pairs_ihm' AS view, count(*) AS rows FROM features.cxr_pairs_ihm UNION ALL SELECT 'features.cxr_tensors' AS view, count(*) AS rows FROM features.cxr_tensors UNION ALL SELECT 'features.note_chunks' AS view, count(*) AS rows FROM features.note_chunks UNION ALL SELECT 'embeddings.cxr_densenet121_chex' AS view, count(*) AS rows FROM embeddings.cxr_densenet121_chex UNION ALL SELECT 'embeddings.notes_clinicalbert' AS view, count(*) AS rows FROM embeddings.notes_clinicalbert UNION ALL SELECT 'features.haim' AS view, count(*) AS rows FROM features.haim"
	$(BIN)/clinfuse sql --home $(HOME_DIR) "SELECT model, task, coalesce(report, '') AS report, subset, metric, round(value, 3) AS value, round(ci_low, 3) AS ci_low, round(ci_high, 3) AS ci_high, published_value FROM reports.leaderboard WHERE metric IN ('auroc', 'mae') AND (model NOT LIKE 'baseline_%' OR model = 'baseline_xgboost') ORDER BY task, model, subset, metric"
	@echo "reports: $(HOME_DIR)/reports/<model>_<task>/report.html   leaderboard: $(HOME_DIR)/reports/leaderboard/leaderboard.html"
	@echo "catalog: $(HOME_DIR)/warehouse.duckdb   (try: $(BIN)/clinfuse sql --home $(HOME_DIR) \"SELECT count(*) FROM raw.icu_icustays\")"

test: $(STAMP)
	$(BIN)/python -m pytest -q

ui: $(STAMP)
	$(BIN)/clinfuse ui --home $(HOME_DIR)

lint: $(STAMP)
	$(BIN)/ruff check clinfuse warehouse features models pipelines tests bench

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(HOME_DIR) .pytest_cache
