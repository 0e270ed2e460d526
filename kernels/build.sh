#!/usr/bin/env bash
# Compiles every kernels/*.cu to PTX in OUT_DIR (the Maven build passes target/classes/kernels,
# so the PTX ships inside the jar as resources).
#
#   kernels/build.sh OUT_DIR            PTX for compute_80 (runs on Ampere, Ada and Hopper)
#   kernels/build.sh OUT_DIR --check    also assembles each for sm_90 with ptxas and prints the
#                                       registers and shared memory per kernel (catches
#                                       resource overflows before a GPU is at hand)
#
# Without nvcc the build goes on: the jar is CPU-only and the CUDA backend says so when asked.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:?usage: kernels/build.sh OUT_DIR [--check]}"
check="${2:-}"

if ! command -v nvcc >/dev/null 2>&1; then
  echo "[kernels] nvcc not found: building a CPU-only jar (install the CUDA toolkit to build the GPU kernels)"
  exit 0
fi
mkdir -p "$out"

# PTX for the oldest architecture with the tensor-core instructions the kernels use (mma.sync
# for tf32 and bf16: sm_80); the driver JIT-compiles it for the GPU it runs on.
flags=(-ptx -arch=compute_80 -O3 -std=c++17 -I "$here")
newest_header=$(ls -t "$here"/*.cuh 2>/dev/null | head -n 1 || true)

built=0
pids=()
for cu in "$here"/*.cu; do
  [ -e "$cu" ] || continue
  name=$(basename "$cu" .cu)
  ptx="$out/$name.ptx"
  if [ -f "$ptx" ] && [ "$ptx" -nt "$cu" ] && { [ -z "$newest_header" ] || [ "$ptx" -nt "$newest_header" ]; } && [ -z "$check" ]; then
    continue
  fi
  nvcc "${flags[@]}" -o "$ptx.tmp" "$cu" && mv "$ptx.tmp" "$ptx" &
  pids+=($!)
  built=$((built + 1))
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
if [ "$status" -ne 0 ]; then echo "[kernels] nvcc failed (see above)"; exit 1; fi
echo "[kernels] $built of $(ls "$here"/*.cu 2>/dev/null | wc -l) kernel files compiled to PTX in $out ($(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/CUDA \1/p'))"

if [ "$check" = "--check" ]; then
  for ptx in "$out"/*.ptx; do
    echo "== $(basename "$ptx")"
    ptxas -arch=sm_90 -v -o /dev/null "$ptx" 2>&1 | grep -E "Compiling entry|Used|error|warning" | sed 's/ptxas info    : //'
  done
fi
