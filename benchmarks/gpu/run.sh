#!/usr/bin/env bash
# Runs, on a GPU machine, the GPU test suite and the GPU benchmarks from what
# benchmarks/gpu/pack.sh put in .gpu/, and writes a report to $OUT (or .gpu/out).
#
#   bash benchmarks/gpu/run.sh [tests] [bench] [peer] [demo]     (default: tests bench peer)

#
# tests: the backend conformance suite (every op against the CPU, on poisoned memory, each
#        launch synchronised so a fault names its kernel) and the golden cases on cuda:0.
# bench: ./magvit4j bench on cuda:0: kernel bandwidths against the copy bandwidth, matmul in
#        each precision (tf32 and bf16 on both GEMM builds: wgmma and mma.sync), 3x3
#        convolutions by Winograd and direct, tokenizer encode/decode and AR sampling; then, per
#        workload, its kernels' share of the GPU time.
# peer:  the same workloads in PyTorch on the same GPU, then the ratios.
# demo:  ./magvit4j demo --device cuda:0 (both stages trained on the GPU; DEMO_OPTS=--quick for a
#        smoke run); its summary goes in the report, its pictures and plots in OUT/demo.tar.
#
# At most 8 files come back from OUT: report.md, tests.txt, junit.xml, bench_java.jsonl,
# bench_torch.jsonl, bench_torch.log, demo.tar.
#
# Each phase runs under a time limit, so a hang (a kernel that never ends, on hardware met for the
# first time) costs that phase and not the whole call: TESTS_SECONDS (default 180),
# BENCH_SECONDS (240), PEER_SECONDS (150), DEMO_SECONDS (420). The defaults of the first three
# add up to 570 s, inside one 600 s device call; what a phase wrote before its limit stays.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
g=.gpu
out="${OUT:-$g/out}"
mkdir -p "$out"
out=$(cd "$out" && pwd)
phases=("$@")
[ ${#phases[@]} -gt 0 ] || phases=(tests bench peer)
report="$out/report.md"

if [ ! -x /tmp/jre/bin/java ]; then tar -xJf "$g/jre.tar.xz" -C /tmp; fi
java=/tmp/jre/bin/java
if [ ! -d /tmp/goldens ]; then mkdir -p /tmp/goldens && xz -dc "$g/goldens.tar.xz" | tar -xf - -C /tmp/goldens; fi
# JAVA_OPTS: extra JVM options, as for ./magvit4j (a dry run here on the test suite's CPU emulator:
# JAVA_OPTS=-Dmagvit4j.cuda.driver=target/cuda-emulator/libcuda.so.1). JCuda's native library
# finds libcuda.so.1 through the loader's search path; where the driver is not on it (a mounted
# /usr/local/nvidia, say), it is named with -Dmagvit4j.cuda.driver, which magvit4j loads first.
if [[ "${JAVA_OPTS:-}" != *magvit4j.cuda.driver* ]] && ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  driver=$(find /usr/local/nvidia /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/cuda/compat -name libcuda.so.1 2>/dev/null | head -n 1)
  if [ -n "$driver" ]; then
    echo "[gpu] libcuda.so.1 is not on the loader's path: using $driver"
    export JAVA_OPTS="${JAVA_OPTS:-} -Dmagvit4j.cuda.driver=$driver"
  fi
fi
jvm=(@jvm.options -Xmx32g ${JAVA_OPTS:-})
# limited SECONDS COMMAND...: runs COMMAND, killed after SECONDS (status 124, reported by the phase).
limited() {
  local seconds="$1"
  shift
  timeout --kill-after=10 "$seconds" "$@"
  local status=$?
  [ "$status" -eq 124 ] && echo "[gpu] stopped after ${seconds} s (its limit)" >&2
  return "$status"
}

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
      # Every test class with cuda:0 cases (their CPU cases run too: they are the references).
      limited "${TESTS_SECONDS:-180}" "$java" "${jvm[@]}" -Dgoldens.dir=/tmp/goldens -Dmagvit4j.cuda.poison=true -Dmagvit4j.cuda.sync=true \
        -jar "$g/lib/junit-platform-console-standalone-1.11.4.jar" execute \
        --class-path "$g/tests.jar:$g/magvit4j.jar" \
        --select-class dev.magvit4j.backend.BackendConformanceTest \
        --select-class dev.magvit4j.backend.cuda.CudaLaunchTest \
        --select-class dev.magvit4j.backend.cuda.CudaWinogradTest \
        --select-class dev.magvit4j.backend.cuda.CudaNormTest \
        --select-class dev.magvit4j.backend.cuda.CudaAllocatorTest \
        --select-class dev.magvit4j.backend.DeviceSelectionTest \
        --select-class dev.magvit4j.golden.LfqGoldenTest \
        --select-class dev.magvit4j.golden.TokenizerGoldenTest \
        --select-class dev.magvit4j.golden.ArGoldenTest \
        --select-class dev.magvit4j.golden.DiscriminatorGoldenTest \
        --select-class dev.magvit4j.train.TrainingTest \
        --select-class dev.magvit4j.cli.TrainCliTest \
        --select-class dev.magvit4j.cli.TokenizerCliTest \
        --select-class dev.magvit4j.cli.GenerateCliTest \
        --details=testfeed --disable-banner --disable-ansi-colors --reports-dir /tmp/junit > "$out/tests.txt" 2>&1
      status=$?
      cp /tmp/junit/TEST-junit-jupiter.xml "$out/junit.xml" 2>/dev/null
      # testfeed: a line as each test starts and ends, so a run stopped at its limit still shows
      # what passed and which test was running.
      { echo; echo "## Tests (exit $status$([ "$status" -eq 124 ] && echo ": stopped at the ${TESTS_SECONDS:-180} s limit"))"; echo; echo '```'
        grep -E "tests (successful|failed|aborted|found)" "$out/tests.txt" || echo "$(grep -c ':: SUCCESSFUL' "$out/tests.txt") successful, $(grep -cE ':: (FAILED|ABORTED)' "$out/tests.txt") failed or aborted before the stop"
        echo '```'; echo; echo "Failures (each with the first lines of its trace):"; echo '```'
        grep -E -A4 ":: (FAILED|ABORTED)" "$out/tests.txt" | head -n 120
        echo '```'
        if [ "$status" -eq 124 ]; then echo; echo "Running when stopped:"; echo '```'; grep ':: STARTED' "$out/tests.txt" | sed 's/ :: STARTED$//' | while read -r t; do grep -qF "$t :: " <(grep -v ':: STARTED' "$out/tests.txt") || echo "$t"; done; echo '```'; fi
      } >> "$report"
      ;;
    bench)
      echo "[gpu] bench"
      if [ -f benchmarks/gpu/bench.sh ]; then limited "${BENCH_SECONDS:-240}" bash benchmarks/gpu/bench.sh "$java" "$g" "$out" >> "$report" 2>&1
      else printf '\n## Bench\n\nbenchmarks/gpu/bench.sh is not written yet (issue 5).\n' >> "$report"; fi
      ;;
    peer)
      echo "[gpu] PyTorch peer"
      if [ -f benchmarks/gpu/peer.sh ]; then limited "${PEER_SECONDS:-150}" bash benchmarks/gpu/peer.sh "$g" "$out" >> "$report" 2>&1
      else printf '\n## PyTorch peer\n\nbenchmarks/gpu/peer.sh is not written yet (issue 5).\n' >> "$report"; fi
      ;;
    demo)
      echo "[gpu] demo"
      rm -rf /tmp/demo
      limited "${DEMO_SECONDS:-420}" "$java" "${jvm[@]}" -jar "$g/magvit4j.jar" demo --device cuda:0 --out /tmp/demo ${DEMO_OPTS:-} > /tmp/demo.log 2>&1
      status=$?
      { echo; echo "## Demo on cuda:0 (exit $status)"; echo; echo '```'; grep -v WARNING /tmp/demo.log | tr '\r' '\n' | grep -v '^tokenizer \[\|^ar \[' | tail -n 30; echo '```'; } >> "$report"
      tar -cf "$out/demo.tar" -C /tmp/demo reconstructions.png samples.png summary.txt plots 2>/dev/null
      ;;
    *) echo "unknown phase '$phase' (tests, bench, peer, demo)" >&2; exit 2 ;;
  esac
done
cat "$report"
