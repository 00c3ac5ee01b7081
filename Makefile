# One entry point for the project's checks; CI (.ci/run) calls `make test` too.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install browser axe sentry-browser lint test bench screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

## install: the package with every extra and the test tools, into $(VENV)
install: $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[all,dev]"

## browser: Debian's Chromium for the Playwright tests (Playwright's own download is not used)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## axe: axe-core from npm for the accessibility tests (loaded by the tests, never the product)
AXE_VERSION := 4.14.1
axe:
	@test -f .axe/node_modules/axe-core/axe.min.js || \
		npm install --silent --no-save --no-audit --no-fund --prefix .axe axe-core@$(AXE_VERSION)

## sentry-browser: @sentry/browser from npm, bundled by esbuild as a page loads it, for the
## browser-SDK ingest test (test-only: nothing of it reaches the product)
SENTRY_BROWSER_VERSION := 11.17.0
ESBUILD_VERSION := 0.28.2
SENTRY_BUNDLE := .sentry-browser/sentry-browser-$(SENTRY_BROWSER_VERSION).js
sentry-browser:
	@test -f $(SENTRY_BUNDLE) || { \
		npm install --silent --no-save --no-audit --no-fund --prefix .sentry-browser \
			@sentry/browser@$(SENTRY_BROWSER_VERSION) esbuild@$(ESBUILD_VERSION) && \
		echo 'export * from "@sentry/browser";' | (cd .sentry-browser && \
			./node_modules/.bin/esbuild --bundle --format=iife --global-name=Sentry \
			--log-level=warning --outfile=$(notdir $(SENTRY_BUNDLE))); }

## lint: ruff, the import contracts, mypy (strict for the SDK) and the docs build, as CI runs them
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy --strict src/tracehub
	$(BIN)/mypy src/tracehub_server
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site

## test: everything CI runs — lint, then the whole suite against the real services
test: install browser axe sentry-browser lint
	$(BIN)/pytest $(PYTEST_ARGS)

## screenshots: retake docs/screenshots/ from `tracehub demo` data in a real Chromium
screenshots: install browser
	TRACEHUB_SCREENSHOTS=1 $(BIN)/pytest tests/e2e/browser/test_browser_screenshots.py -q

## bench: the SDK's benchmarks (not tests; each prints its baseline from the same run)
bench: install
	$(BIN)/python bench/micro_sdk.py
	$(BIN)/python bench/bench_sdk.py
