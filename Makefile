# The two newcomer commands are `make run` and `make test`; everything else is what they need.
VENV := .venv
BIN := $(VENV)/bin
PYTHON ?= python3

.PHONY: setup run test nightly scale lint-bpmn system-packages

setup: system-packages $(VENV)/.installed node_modules/.installed web/static/build/.built

system-packages:
	@scripts/install-system-packages

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[test]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# The admin pages' bpmn-js / dmn-js bundles (editor, monitoring viewer), built from node_modules: served by us.
web/static/build/.built: node_modules/.installed .bpmnlintrc $(wildcard frontend/*.js frontend/*.json frontend/*.css)
	node frontend/build.mjs
	touch $@

# Run the system on the embedded default: SQLite, demo data, web + timer worker.
run: setup
	$(BIN)/netsign init --demo
	$(BIN)/netsign serve

lint-bpmn: node_modules/.installed
	@ls processes/*.bpmn >/dev/null 2>&1 || { echo "no BPMN files found in processes/"; exit 1; }
	npx --no-install bpmnlint processes/*.bpmn

# Every test, on SQLite, or on PostgreSQL when DATABASE_URL points at one.
test: setup lint-bpmn
	$(BIN)/ruff check --select F,E9 engine handlers web bench tools tests
	$(BIN)/python tools/check_structure.py
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python tools/validate_bpmn.py
	$(BIN)/pytest -n 2 -p no:cacheprovider

# The contract state machine (tests/processes/test_invariants.py) with its long profile; set DATABASE_URL for
# PostgreSQL. Takes a long while: many more and longer random walks than the CI profile in `make test`.
nightly: setup
	NETSIGN_INVARIANTS=nightly $(BIN)/pytest -p no:cacheprovider tests/processes/test_invariants.py

# The scale benchmark (bench/scale.py): pages, a step, the timer drain and the re-signing loop at 1,000 and
# at N instances (default 100,000; N=5000 for a quick run), on SQLite, or on PostgreSQL when DATABASE_URL is set.
N ?= 100000
scale: setup
	$(BIN)/python bench/scale.py --n $(N)

# The English catalog by the standard Babel workflow: extract the marked messages (_(), gettext, tr, N_ for
# definitions such as form labels; babel.cfg adds the names drawn in the diagrams) into
# var/messages.pot and merge them into web/translations/en (new ones empty, for a translator); the app compiles
# the catalog at start-up. tests/web/test_i18n_catalog.py fails while a marked message has no English.
i18n: setup
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k tr -k N_ -o var/messages.pot .
	$(BIN)/pybabel update -i var/messages.pot -d web/translations -l en --no-fuzzy-matching
	$(BIN)/pybabel compile -d web/translations -l en --statistics -o var/messages-check.mo

