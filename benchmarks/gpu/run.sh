#!/usr/bin/env bash
# Runs, on a GPU machine, the GPU test suite and the GPU benchmarks from what
# benchmarks/gpu/pack.sh put in .gpu/, and writes a report to $OUT (or .gpu/out).
#
#   bash benchmarks/gpu/run.sh [tests] [bench] [peer]     (default: all three, in that order)

#
# tests: the backend conformance suite (every op against the CPU, on poisoned memory, each
#        launch synchronised so a fault names its kernel) and the golden cases on cuda:0.
# bench: ./magvit4j bench on cuda:0: kernel bandwidths against the copy bandwidth, matmul in
#        each precision, tokenizer encode/decode and AR sampling.
# peer:  the same workloads in PyTorch on the same GPU, then the ratios.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
g=.gpu
out="${OUT:-$g/out}"
mkdir -p "$out"
phases=("$@")
[ ${#phases[@]} -gt 0 ] || phases=(tests bench peer)
report="$out/report.md"

if [ ! -x /tmp/jre/bin/java ]; then tar -xJf "$g/jre.tar.xz" -C /tmp; fi
java=/tmp/jre/bin/java
if [ ! -d /tmp/goldens ]; then mkdir -p /tmp/goldens && tar -xf "$g/goldens.tar" -C /tmp/goldens; fi
# JAVA_OPTS: extra JVM options, as for ./magvit4j (a dry run here on the test suite's CPU emulator:
# JAVA_OPTS=-Dmagvit4j.cuda.driver=target/cuda-emulator/libcuda.so.1).
jvm=(--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx32g ${JAVA_OPTS:-})

{
  echo "# magvit4j GPU run, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo '```'
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv 2>&1
  "$java" "${jvm[@]}" -jar "$g/magvit4j.jar" info 2>&1 | grep -v WARNING
  echo '```'
} > "$report"

for phase in "${phases[@]}"; do
  case "$phase" in
    tests)
      echo "[gpu] tests"
      "$java" "${jvm[@]}" -Dgoldens.dir=/tmp/goldens -Dmagvit4j.cuda.poison=true -Dmagvit4j.cuda.sync=true \
        -jar "$g/lib/junit-platform-console-standalone-1.11.4.jar" execute \
        --class-path "$g/tests.jar:$g/magvit4j.jar" \
        --select-class dev.magvit4j.backend.BackendConformanceTest \
        --select-class dev.magvit4j.backend.cuda.CudaLaunchTest \
        --select-class dev.magvit4j.golden.LfqGoldenTest \
        --select-class dev.magvit4j.golden.TokenizerGoldenTest \
        --select-class dev.magvit4j.golden.ArGoldenTest \
        --select-class dev.magvit4j.golden.DiscriminatorGoldenTest \
        --details=tree --disable-banner --disable-ansi-colors --reports-dir "$out" > "$out/tests.txt" 2>&1
      status=$?
      { echo; echo "## Tests (exit $status)"; echo; echo '```'; grep -E "tests (successful|failed|aborted|found)" "$out/tests.txt"; echo '```';
        echo; echo "Failures:"; echo '```'; grep -E "✘|MethodSource \[" "$out/tests.txt" | grep -v "✔" | head -n 60; echo '```'; } >> "$report"
      ;;
    bench)
      echo "[gpu] bench"
      if [ -f benchmarks/gpu/bench.sh ]; then bash benchmarks/gpu/bench.sh "$java" "$g" "$out" >> "$report" 2>&1
      else printf '\n## Bench\n\nbenchmarks/gpu/bench.sh is not written yet (issue 5).\n' >> "$report"; fi
      ;;
    peer)
      echo "[gpu] PyTorch peer"
      if [ -f benchmarks/gpu/peer.sh ]; then bash benchmarks/gpu/peer.sh "$g" "$out" >> "$report" 2>&1
      else printf '\n## PyTorch peer\n\nbenchmarks/gpu/peer.sh is not written yet (issue 5).\n' >> "$report"; fi
      ;;
    *) echo "unknown phase '$phase' (tests, bench, peer)" >&2; exit 2 ;;
  esac
done
cat "$report"
