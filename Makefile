# cara-fed: `make run` to try it, `make test` for the full suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint bench config-example clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

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

config-example: $(STAMP)
	$(BIN)/python -c "from cara_fed.config import example_toml; open('config.example.toml', 'w').write(example_toml())"

clean:
	rm -rf $(VENV) data test-output *.egg-info
