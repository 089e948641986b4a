# Two commands do everything on a fresh Debian/Ubuntu machine: `make demo` and `make test`.
# Both create .venv when missing, install the pinned Python packages (constraints.txt) and
# the Debian packages the tool and its tests need (only those that are absent).

VENV        ?= .venv
PY          := $(VENV)/bin/python
HG          := $(VENV)/bin/handout-gen
STAMP       := $(VENV)/.installed
# Test-only: the caniemail.com support data (npm), for the newsletter client-support gate.
CANIEMAIL   := tests/caniemail/node_modules/.installed
# WeasyPrint needs Pango/HarfBuzz; qpdf and poppler-utils check PDFs; chromium runs the
# browser tests (Playwright drives Debian's build; it never downloads one).
DEB_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core qpdf poppler-utils chromium

.PHONY: demo test bench setup system-deps lint clean

setup: system-deps $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[test]'
	touch $(STAMP)

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
	$(HG) packets content/rosters/sample-roster.csv -o output/packets --today 2026-11-24  # fixed date: the fictional sample roster never goes stale
	$(HG) newsletter 2026-12 --esp mailchimp
	@echo "Done: see output/"

test: setup $(CANIEMAIL)
	$(PY) -m pytest

bench: setup
	$(PY) -m benchmarks

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/mypy

clean:
	rm -rf output/handouts output/newsletters output/packets output/.handout-gen

# --- preview / readme images (issue 6) ---
.PHONY: readme-images
readme-images: setup
	$(PY) scripts/readme_images.py
