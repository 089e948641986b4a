# Two commands do everything on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Both create .venv when missing, install the pinned Python packages (constraints.txt) and
# the Debian packages the tool and its tests need (only those that are absent).

VENV        ?= .venv
PY          := $(VENV)/bin/python
HG          := $(VENV)/bin/handout-gen
STAMP       := $(VENV)/.installed
TEST_STAMP  := $(VENV)/.installed-test
# The venv's interpreter: Debian's python3 where there is one. It is built with PGO and LTO
# and lays pages out about a tenth faster than a python3 compiled without them (a pyenv or
# source build, often first on PATH). PYTHON3=python3.12 make ... chooses another.
PYTHON3     ?= $(firstword $(wildcard /usr/bin/python3) python3)
# The suite runs on both cores, a test file at a time (its module fixtures are made once),
# files handed out in the order conftest.py sorts the tests: slow ones first. Coverage of
# the library is reported and gated.
COVERAGE_MIN ?= 85
XDIST       := -n 2 --dist loadfile --no-loadscope-reorder
# The tests' files go to RAM where the machine has a tmpfs with room (2 GB free; a run
# writes about 300 MB): the suite writes thousands of small files and the product syncs
# each one it writes (atomic writes, logs). On this 2-core machine that took the kernel's
# time from about 21 to 15 CPU-seconds a run (the wall time moved less than the machine's
# run-to-run noise), and it spares the disk. The files of a failed run stay there for a
# look; a passing run frees them. Elsewhere, or with TEST_TMP= (empty), pytest's own folder.
TEST_TMP    ?= $(shell d=/dev/shm; [ "$$(stat -f -c %T $$d 2>/dev/null)" = tmpfs ] && \
                 [ "$$(df -Pk $$d | awk 'NR==2 {print $$4}')" -gt 2000000 ] && echo $$d/handout-gen-tests-$$(id -u))
BASETEMP    := $(if $(TEST_TMP),--basetemp=$(TEST_TMP))
PYTEST      := $(PY) -m pytest $(XDIST) $(BASETEMP) --cov --cov-report=term --cov-fail-under=$(COVERAGE_MIN)
# Test-only: the caniemail.com support data (npm), for the newsletter client-support gate.
CANIEMAIL   := tests/caniemail/node_modules/.installed
# python3-venv: the venv module of Debian's python3. WeasyPrint needs Pango/HarfBuzz; the Noto
# fonts draw every script after Atkinson Hyperlegible (the font chain, core/languages.py;
# fontconfig's fc-list finds them for the glyph check); qpdf and poppler-utils check PDFs; chromium-headless-shell runs the browser tests
# (Debian's build of the headless shell Playwright itself runs headless: about a fifth less
# CPU than the full browser; Playwright never downloads one).
DEB_PACKAGES := python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
                fontconfig fonts-noto-core fonts-noto-cjk
DEB_TEST_PACKAGES := qpdf poppler-utils chromium-headless-shell

# Let Python keep compiled modules (and pytest its rewritten test modules) in __pycache__/:
# some CI images set PYTHONDONTWRITEBYTECODE, and then every xdist worker and every CLI
# process a test starts compiles the package and the tests again.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test test-fast golden bench setup setup-test system-deps lint clean

# `make demo` installs only what the tool needs; the test tools come with `make test`.
setup: system-deps $(STAMP)

setup-test: setup $(TEST_STAMP)
	@$(MAKE) --no-print-directory system-deps DEB_PACKAGES="$(DEB_TEST_PACKAGES)"

$(STAMP): pyproject.toml constraints.txt | system-deps  # python3-venv first, also under make -j
	test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e .
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(TEST_STAMP)

$(CANIEMAIL): tests/caniemail/package.json tests/caniemail/package-lock.json
	command -v npm >/dev/null 2>&1 || $(MAKE) system-deps DEB_PACKAGES="nodejs npm"
	cd tests/caniemail && npm ci --silent --no-audit --no-fund
	touch $(CANIEMAIL)

system-deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

demo: setup
	$(HG) build
	@# --- newsletter and packet demo steps (issues 3 and 4) ---
	$(HG) packets content/rosters/sample-roster.csv -o output/packets --today 2026-11-20 --print-file  # fixed date: the fictional sample roster never goes stale
	$(HG) newsletter 2026-12 --esp mailchimp
	$(HG) site  # output/site/: the page behind every printed URL (handout PDFs already built)
	@echo "Done: see output/"

test: setup-test $(CANIEMAIL)
	$(PYTEST)
	$(if $(TEST_TMP),rm -rf $(TEST_TMP))

# The edit-test loop (under 30 s on 2 cores): every test but those marked slow (pyproject.toml).
test-fast: setup-test $(CANIEMAIL)
	$(PY) -m pytest $(XDIST) $(BASETEMP) -m "not slow"
	$(if $(TEST_TMP),rm -rf $(TEST_TMP))

# Rewrite the golden files (newsletter HTML and text part) from the fixture practice.
golden: setup-test
	$(PY) -m pytest tests/test_golden.py --update-golden

# The check benchmark's baseline reads PDFs with pdfplumber, a test tool.
bench: setup-test
	$(PY) -m benchmarks

lint: setup-test
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf output/handouts output/newsletters output/packets output/site output/.handout-gen

# --- preview / readme images (issue 6) ---
.PHONY: readme-images
readme-images: setup-test
	$(PY) scripts/readme_images.py
