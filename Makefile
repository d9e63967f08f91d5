# Composer: `make run` to use it, `make test` to check it. Everything lives in .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint typecheck pytest bench dist dist-test clean icons install-desktop

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "Could not create a virtual environment. On Debian or Ubuntu: sudo apt-get install python3-venv"; \
	  exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

run: $(VENV)/.installed
	$(BIN)/composer $(ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check composer tests resources
	$(BIN)/ruff format --check composer tests resources

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

pytest: $(VENV)/.installed-test
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache

# --- The frozen program: `make dist`, `make dist-test`, `make install-desktop` -----------------
# What `make dist-test` gives the program: no venv, no PYTHONPATH, a throwaway HOME, no display.
CLEAN_ENV = env -i PATH=/usr/bin:/bin HOME="$$tmp/home" LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen
ICON_SIZES := 16 24 32 48 64 128 256

$(VENV)/.installed-dist: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[dist]'
	@touch $@

# After editing resources/icons/composer.svg: re-render the PNGs, .ico and .icns, then commit them.
icons: $(VENV)/.installed
	$(BIN)/python resources/render_icons.py

dist: $(VENV)/.installed-dist
	$(BIN)/pyinstaller --noconfirm --clean composer.spec
	@echo "dist/composer: $$(du -sm dist/composer | cut -f1) MiB" \
	  "($$(du -sb dist/composer | cut -f1) bytes, $$(find dist/composer -type f | wc -l) files)"
	tar -C dist --sort=name --owner=0 --group=0 --numeric-owner -cf - composer \
	  | gzip -n > dist/composer.tar.gz
	@echo "dist/composer.tar.gz: $$(du -m dist/composer.tar.gz | cut -f1) MiB" \
	  "($$(stat -c %s dist/composer.tar.gz) bytes)"

dist-test: dist
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && mkdir "$$tmp/home" && cd "$$tmp" && \
	want="Composer $$($(CURDIR)/$(BIN)/python -c 'import composer; print(composer.__version__)')" && \
	got=$$($(CLEAN_ENV) $(CURDIR)/dist/composer/composer --version) && echo "$$got" && \
	if [ "$$got" != "$$want" ]; then echo "dist-test: expected '$$want'"; exit 1; fi && \
	$(CLEAN_ENV) $(CURDIR)/dist/composer/composer --self-test --config-dir "$$tmp/config"

# For the current user: menu entry, icons, and Composer as the handler of mailto: links. Runs
# the built program if there is one (make dist), else the one in .venv (make run).
install-desktop:
	@set -e; \
	if [ -x dist/composer/composer ]; then exe="$(CURDIR)/dist/composer/composer"; \
	elif [ -x $(BIN)/composer ]; then exe="$(CURDIR)/$(BIN)/composer"; \
	else echo "install-desktop: build Composer first (make dist, or make run)"; exit 1; fi; \
	data="$${XDG_DATA_HOME:-$$HOME/.local/share}"; \
	mkdir -p "$$data/applications"; \
	sed "s|^Exec=composer |Exec=\"$$exe\" |" resources/composer.desktop \
	  > "$$data/applications/composer.desktop"; \
	for size in $(ICON_SIZES); do \
	  install -D -m 644 resources/icons/composer-$$size.png \
	    "$$data/icons/hicolor/$${size}x$${size}/apps/composer.png"; \
	done; \
	install -D -m 644 resources/icons/composer.svg "$$data/icons/hicolor/scalable/apps/composer.svg"; \
	echo "Installed $$data/applications/composer.desktop (Exec=$$exe) and its icons"; \
	if command -v update-desktop-database >/dev/null; then \
	  update-desktop-database "$$data/applications"; fi; \
	if command -v xdg-mime >/dev/null; then \
	  xdg-mime default composer.desktop x-scheme-handler/mailto; \
	  echo "mailto: links now open Composer ($$(xdg-mime query default x-scheme-handler/mailto))"; \
	else \
	  echo "xdg-mime not found (Debian: xdg-utils): choose Composer for email links in your" \
	    "desktop's default-applications settings"; \
	fi

# Speed and memory goals, measured rather than tested (tests must not depend on the machine's
# speed), side by side with peers in the same run: a bare PySide6 window (start-up, offscreen
# and under Xvfb), a plain smtplib script and msmtp (sends, to a fast sink in another process).
# Prints a Markdown table with each goal and its verdict and writes it to
# tests/benchmarks/RESULTS.md; a missed goal does not fail the target. Not run in CI.
BENCH_DEBS := msmtp time xvfb libxcb-cursor0 libxkbcommon-x11-0 libxcb-icccm4 libxcb-keysyms1 \
  libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0

bench: $(VENV)/.installed
	@missing=$$(for p in $(BENCH_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then echo "bench: installing" $$missing; \
	  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; } \
	    >/dev/null || echo "bench: could not install" $$missing "(as root: apt-get install them)"; \
	fi
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m tests.benchmarks
