#!/usr/bin/env bash
# magvit4j's GPU benchmarks on cuda:0, called by benchmarks/gpu/run.sh as: bench.sh JAVA GPU_DIR OUT.
# Prints a markdown section; each result goes to OUT/bench_java.jsonl as soon as it is measured.
set -uo pipefail
java="$1"; g="$2"; out="$3"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."   # the repository root: GPU_DIR and jvm.options are relative to it
jvm=(@jvm.options -Xmx32g ${JAVA_OPTS:-})
printf '\n## Bench: magvit4j on cuda:0\n\n```\n'
"$java" "${jvm[@]}" -jar "$g/magvit4j.jar" bench --device cuda:0 --only hot,precision,bandwidth,launch,conv,tokenizer,ar \
  --seconds 0.5 --json "$out/bench_java.jsonl" 2>&1 | grep -v WARNING
echo "exit status ${PIPESTATUS[0]}"
printf '```\n'
