#!/usr/bin/env bash
# Compiles every kernels/*.cu to PTX in OUT_DIR (the Maven build passes target/classes/kernels,
# so the PTX ships inside the jar as resources).
#
#   kernels/build.sh OUT_DIR            PTX for compute_80 (runs on Ampere, Ada and Hopper), and
#                                       for the files on gemm.cuh a second PTX for sm_90a
#                                       (NAME.sm_90a.ptx: Hopper's wgmma); every file declared
#                                       PTX ISA 8.0 (CUDA 12.0 drivers) and checked with ptxas
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
newest_input=$(ls -t "$here"/*.cuh "$here/build.sh" 2>/dev/null | head -n 1 || true)  # PTX older than any header or this script is rebuilt

# The PTX ISA version written into every file. nvcc stamps its own (9.0 for CUDA 13), which a
# driver older than that CUDA release refuses to load; the kernels need nothing past ISA 8.0
# (wgmma), so they are declared 8.0 and run on any CUDA 12.0+ driver (R525+). ptxas checks each
# file at that version below: a feature of a later ISA fails the build here. Cuda.java reads the
# version back and tells a user with an older driver what to install.
PTX_ISA=8.0

# assemble PTX ARCH NAME: ptxas as a check. It fails on what ptxas rejects, and on wgmma
# instructions that ptxas serialises (the Hopper GEMM tiles sit at 128 registers: a spill there
# would make every wgmma wait for the previous one, silently); it warns of register spills in
# that build (--check lists every kernel's registers and spills, for every build).
assemble() {
  local report
  report=$(ptxas -arch="$2" -v -o /dev/null "$1" 2>&1) || { echo "$report"; echo "[kernels] ptxas rejected $3 as PTX ISA $PTX_ISA for $2 (see above)"; return 1; }
  if grep -qi 'wgmma.*serializ' <<<"$report"; then grep -i 'serializ' <<<"$report"; echo "[kernels] $3: ptxas serialises wgmma (see above)"; return 1; fi
  if [ "$2" = sm_90a ] && grep -q '[1-9][0-9]* bytes spill' <<<"$report"; then
    echo "[kernels] warning: $3 spills registers in $(grep -c '[1-9][0-9]* bytes spill' <<<"$report") kernel(s) (--check shows which)"
  fi
  return 0
}

# compile CU PTX ARCH FLAGS...: nvcc, the ISA version set, then assembled by ptxas for ARCH as a
# check; skipped (status 1) when PTX is newer than the file, every header and this script.
compile() {
  local cu="$1" ptx="$2" arch="$3"
  shift 3
  if [ -f "$ptx" ] && [ "$ptx" -nt "$cu" ] && { [ -z "$newest_input" ] || [ "$ptx" -nt "$newest_input" ]; } && [ -z "$check" ]; then
    return 1
  fi
  {
    nvcc "$@" -o "$ptx.tmp" "$cu" &&
      sed -i "s/^\.version [0-9.]*\$/.version $PTX_ISA/" "$ptx.tmp" &&
      assemble "$ptx.tmp" "$arch" "$(basename "$ptx")" &&
      mv "$ptx.tmp" "$ptx"
  } &
  pids+=($!)
  built=$((built + 1))
}

built=0
pids=()
for cu in "$here"/*.cu; do
  [ -e "$cu" ] || continue
  name=$(basename "$cu" .cu)
  compile "$cu" "$out/$name.ptx" sm_80 "${flags[@]}" || true
  # The GEMM users again for sm_90a, where gemm.cuh's tensor-core tiles are wgmma (the driver
  # loads this PTX on compute capability 9.0 only). The architecture-specific "a" target's PTX
  # cannot be JIT-compiled for any other GPU.
  if grep -q '#include "gemm.cuh"' "$cu"; then
    compile "$cu" "$out/$name.sm_90a.ptx" sm_90a -ptx -arch=sm_90a -O3 -std=c++17 -I "$here" || true
  fi
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
if [ "$status" -ne 0 ]; then rm -f "$out"/*.ptx.tmp; echo "[kernels] the kernel build failed (see above)"; exit 1; fi
echo "[kernels] $built PTX files compiled from $(ls "$here"/*.cu 2>/dev/null | wc -l) kernel files in $out ($(nvcc --version | sed -n 's/.*release \([0-9.]*\).*/CUDA \1/p'))"


if [ "$check" = "--check" ]; then
  for ptx in "$out"/*.ptx; do
    echo "== $(basename "$ptx")"
    arch=sm_90; [[ "$ptx" == *.sm_90a.ptx ]] && arch=sm_90a
    ptxas -arch=$arch -v -o /dev/null "$ptx" 2>&1 | grep -E "Compiling entry|Used|error|warning|spill" | grep -v "^ *0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" | sed 's/ptxas info    : //'
  done
fi
