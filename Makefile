# Two entry points: `make run` (app on the demo data) and `make test` (whole test suite).
# Everything is installed in a local virtual environment, .venv/.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501

.PHONY: run test bench install install-dev browser clean

# Debian's Python needs python3-venv for `python3 -m venv`: installed when missing and root.
$(BIN)/activate:
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { rm -rf $(VENV); \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; \
	  else echo "Installez python3-venv : sudo apt-get install python3-venv"; exit 1; fi; \
	  $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt requirements.txt $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.runtime $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

# Debian's Chromium for the real-browser tests, poppler's pdftoppm to look at the PDF report's pages, and
# LibreOffice Impress to open the deck as a team without PowerPoint does (tests needing one of them are skipped
# when it is absent).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/pdftoppm ] || [ ! -x /usr/bin/soffice ]; then \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && apt-get install -y -qq chromium poppler-utils \
	    libreoffice-impress >/dev/null; \
	  else echo "Chromium, pdftoppm ou LibreOffice absent : tests ignorés (sudo apt-get install chromium poppler-utils libreoffice-impress)."; fi; \
	fi

run: install
	$(BIN)/python cli.py serve --server.port $(PORT)

test: install-dev browser
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache
