# Threshold: the targets below are exactly what the README and CI use.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
RASA      := $(VENV)/bin/rasa
INSTALLED := $(VENV)/.installed
SPACY     := .spacy/en_threshold
SPACY_OK  := $(SPACY)/meta.json
MODEL     := models/threshold.tar.gz
WEB_DEPS  := web/node_modules/.package-lock.json
WEB_PORT  ?= 8080
ACTIONS_PORT ?= 5055
RASA_PORT    ?= 5005

# Privacy: no usage data leaves the clinic's machine.
export RASA_TELEMETRY_ENABLED := false
export PYTHONPATH := $(CURDIR)
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
export RASA_PORT WEB_PORT ACTIONS_PORT
# Library deprecation notices are noise in a chat terminal.
export PYTHONWARNINGS := ignore::DeprecationWarning

TRAINING_INPUTS := config.yml domain.yml $(shell find data -name '*.yml') \
                   $(wildcard risk_corpus/*.yml) $(wildcard components/*.py) $(SPACY_OK)
# A deleted or renamed training file changes no file's date, so the list of their names is a
# prerequisite too: it is rewritten only when the list changes.
TRAINING_LIST := models/.training-inputs
$(shell mkdir -p models; echo '$(sort $(TRAINING_INPUTS))' | cmp -s - $(TRAINING_LIST) || echo '$(sort $(TRAINING_INPUTS))' > $(TRAINING_LIST))

.PHONY: help setup train chat run cluster bench-cluster test test-second-clinic lint screenshots eval eval-frozen bench soak purge insights clean article-hashes check-browser

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: $(INSTALLED) $(SPACY_OK) $(WEB_DEPS) ## Create .venv with the pinned dependencies, build the spaCy pipeline, fetch the widget's socket.io client

$(INSTALLED): requirements.txt requirements-nodeps.txt
	@python=$$(bash scripts/find_python.sh) || exit 1; \
	  echo "Creating $(VENV) with $$python"; \
	  [ -x $(PY) ] || "$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip==24.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-nodeps.txt
	@touch $@

# The web widget's one dependency, pinned in web/package-lock.json.
$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	@touch $@

$(SPACY_OK): $(INSTALLED) scripts/build_spacy_pipeline.py
	$(PY) scripts/build_spacy_pipeline.py $(SPACY)

train: $(MODEL) ## Train the model into models/ (only when the data changed)

$(MODEL): $(INSTALLED) $(TRAINING_INPUTS) $(TRAINING_LIST)
	$(RASA) train --fixed-model-name threshold --out models
	@touch $@

chat: $(MODEL) ## Talk to the assistant in this terminal
	@bash scripts/serve.sh chat

# Several Rasa server processes behind nginx, with PostgreSQL and Redis (scripts/cluster.py).
cluster: $(MODEL) $(WEB_DEPS) ## Serve the assistant as several Rasa processes behind nginx (PostgreSQL, Redis); CLUSTER_SERVERS=N
	@$(PY) scripts/cluster.py

run: $(MODEL) $(WEB_DEPS) ## Serve the assistant: action server, Rasa server with its channels (and API), the widget demo page on :8080
	@bash scripts/serve.sh run

# check-browser and lint come first: without Chromium, or with a style slip, make test stops
# in seconds, before training.
test: check-browser lint $(MODEL) $(WEB_DEPS) ## Lint, validate the data and run the whole test suite
	$(RASA) data validate --fail-on-warnings
	$(PY) -m pytest

# A clinic replaces clinic.yml and content/exercises.yml: the whole suite again with a second
# fictional clinic and a reworded, reordered exercise library (tests/fixtures/). CI runs it.
test-second-clinic: check-browser $(MODEL) $(WEB_DEPS) ## The whole test suite with another clinic's profile and exercises
	THRESHOLD_CLINIC_PROFILE=tests/fixtures/second_clinic.yml THRESHOLD_EXERCISES=tests/fixtures/second_exercises.yml \
	  $(PY) -m pytest --ignore=tests/test_second_clinic.py

lint: $(INSTALLED) ## ruff: lint and format check (settings in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

screenshots: check-browser $(MODEL) $(WEB_DEPS) ## Refresh the widget screenshots in docs/ (make test writes them to results/ only)
	$(PY) -m pytest -q tests/test_widget_browser.py -k "screenshots or first_session_notes"
	cp results/screenshots/widget-desktop.png results/screenshots/widget-phone.png \
	  results/screenshots/first-session-notes.png docs/

check-browser:
	@$(SHELL) scripts/check_browser.sh

eval: $(MODEL) ## Cross-validation and development-set figures (NLU and risk model), into results/
	$(PY) scripts/evaluate.py
	$(PY) scripts/evaluate_risk.py

eval-frozen: $(MODEL) ## The frozen test sets through the trained model, into results/frozen.md (measure once, at the end)
	$(PY) scripts/evaluate_frozen.py

bench: $(MODEL) ## Speed and memory against the stock Rasa starter bot, into results/bench.md
	$(PY) scripts/bench.py
	$(PY) scripts/bench_stages.py

bench-cluster: $(MODEL) ## make cluster's throughput against one server process, into results/cluster_bench.md
	$(PY) scripts/bench_cluster.py

soak: $(MODEL) ## 50 conversations at once for 5 minutes on loopback: errors, stored messages, memory
	$(PY) scripts/soak.py

purge: $(INSTALLED) ## Delete stored conversations older than DAYS days: make purge DAYS=30
	@[ -n "$(DAYS)" ] || { echo "usage: make purge DAYS=30" >&2; exit 2; }
	$(PY) scripts/purge.py --days $(DAYS)

insights: $(INSTALLED) ## What people ask, by week, with no message text: results/insights/index.html and insights.csv
	$(PY) scripts/insights.py

ARTICLE ?= ../shared/seeds/000_e63d249fb5bd91eb.txt
article-hashes: ## Rewrite tests/data/article_8word_hashes.txt from the source article (ARTICLE=path, not in the project)
	python3 scripts/article_hashes.py "$(ARTICLE)"

clean: ## Remove the trained models and caches (keeps .venv)
	rm -rf models/*.tar.gz .rasa $(SPACY)
