#!/usr/bin/env bash
# One run on an NVIDIA GPU machine (issue 9): install the `gpu` flavour by the documented command,
# check that exactly one onnxruntime is installed and that it has the CUDA execution provider, serve
# with SHINSAKU_PROVIDER=cuda, at fp32 and (when the card has an fp16 entry, made by
# `python -m training.quantize --precision fp16`) at fp16, check /v1/health reports provider and
# precision, then measure (HTTP latency, 8-client throughput, bare onnxruntime per image, scan with 1
# and N workers, largest probability difference from fp32: benchmarks/bench_precision.py).
#
# Usage (repository root):  bash benchmarks/gpu_check.sh [VENV]   (default VENV: .venv-gpu)
# Needs: an NVIDIA driver (nvidia-smi), python3 -m venv, access to the package registry.
# Exit status: 0 when everything ran; 1 when a check failed (message on standard error).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv-gpu}
PY=$VENV/bin/python
fail() { echo "gpu_check: $*" >&2; exit 1; }

command -v nvidia-smi >/dev/null || fail "nvidia-smi not found: this is not an NVIDIA GPU machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; load $(cut -d' ' -f1 /proc/loadavg)"

# 1. install: the Makefile picks ORT=gpu because nvidia-smi answers (the README's one command)
make install VENV="$VENV"
"$PY" -m pip install -q requests  # the benchmark's HTTP client (a test extra)
flavours=$("$PY" -m pip list --format=freeze | grep -iE '^onnxruntime(-gpu)?==' || true)
echo "installed: $flavours"
[ "$(echo "$flavours" | grep -c .)" = 1 ] || fail "expected exactly one onnxruntime, got: $flavours"
echo "$flavours" | grep -qi '^onnxruntime-gpu==' || fail "the installed onnxruntime is not the GPU build"
"$PY" - <<'EOF' || fail "onnxruntime has no usable CUDAExecutionProvider"
import onnxruntime as ort
from backend.inference import preload_cuda_libraries
preload_cuda_libraries()
print("providers:", ort.get_available_providers())
assert "CUDAExecutionProvider" in ort.get_available_providers()
EOF

# 2. serve on CUDA and check what health reports, at fp32 and at fp16 when the card has the entry
# batches of up to 16 images (the CPU default of 2 keeps RSS low; a GPU gains from larger batches)
export SHINSAKU_PROVIDER=cuda SHINSAKU_CACHE_SIZE=0 SHINSAKU_MAX_BATCH_SIZE=${SHINSAKU_MAX_BATCH_SIZE:-16}
SERVER=
trap '[ -n "$SERVER" ] && kill $SERVER 2>/dev/null || true' EXIT
serve_check() {  # $1: precision
  local port health=/tmp/shinsaku-gpu-health-$1.json
  port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  SHINSAKU_PRECISION=$1 "$VENV/bin/shinsaku" serve --port "$port" >/tmp/shinsaku-gpu-serve-$1.log 2>&1 &
  SERVER=$!
  for _ in $(seq 120); do
    curl -sf "http://127.0.0.1:$port/v1/health" >"$health" && break
    kill -0 $SERVER 2>/dev/null || { cat /tmp/shinsaku-gpu-serve-$1.log >&2; fail "server exited ($1)"; }
    sleep 1
  done
  [ -s "$health" ] || fail "no answer from /v1/health in 120 s ($1)"
  cat "$health"; echo
  grep -q '"execution_provider": *"CUDAExecutionProvider"' "$health" \
    || fail "/v1/health does not report CUDAExecutionProvider ($1)"
  grep -q "\"precision\": *\"$1\"" "$health" || fail "/v1/health does not report precision $1"
  kill $SERVER; wait $SERVER 2>/dev/null || true
  SERVER=
}
serve_check fp32
if "$PY" -c 'import json, sys; from backend.config import BUNDLED_MODEL as m; sys.exit("fp16" not in json.loads(m.read_text()))'; then
  serve_check fp16
else
  echo "fp16: the card has no fp16 entry (python -m training.quantize --precision fp16); not checked"
fi

# 3. measure (fp32, and int8 / fp16 when the card has those entries), scan with 1 and all cores
"$PY" benchmarks/bench_precision.py --requests 300 --scan-images 500
