#!/usr/bin/env bash
# The smallest Java heap (-Xmx, 8 MiB steps) that encodes one image with a released tokenizer
# architecture (default the 256 model at 256x256): benchmarks/heap.sh [128|256]
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-256}"
./magvit4j info >/dev/null 2>&1   # builds target/magvit4j.jar when needed
java_home=$(bash -c 'source <(sed -n "/^jdk_major()/,/^}/p;/^find_jdk()/,/^}/p" magvit4j); need=25; find_jdk')
probe() {
  "$java_home/bin/java" @jvm.options -Xmx"$1"m \
    -cp target/magvit4j.jar benchmarks/HeapProbe.java "$preset" >/dev/null 2>&1
}
lo=64 hi=4096
probe "$hi" || { echo "fails even with ${hi} MiB" >&2; exit 1; }
while [ $((hi - lo)) -gt 8 ]; do
  mid=$(( (lo + hi) / 2 ))
  if probe "$mid"; then hi=$mid; else lo=$mid; fi
done
echo "encoding one image with the $preset model needs a heap of $hi MiB (-Xmx${hi}m works, -Xmx${lo}m does not)"
