# Each target creates .venv itself when it is missing (or when pyproject.toml changed).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOME_DIR ?= .clinfuse

.PHONY: demo test ui lint bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Generate a small synthetic MIMIC (first run only), ingest it, materialise the graph, show the counts.
demo: $(STAMP)
	CLINFUSE_WEIGHTS=auto $(BIN)/clinfuse run --home $(HOME_DIR)
	$(BIN)/clinfuse sql --home $(HOME_DIR) "SELECT \"table\", rows, status, checksum FROM raw.sources WHERE status <> 'absent' ORDER BY 1"
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
