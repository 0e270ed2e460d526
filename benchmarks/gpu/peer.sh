#!/usr/bin/env bash
# The same workloads in PyTorch on cuda:0, then the ratios; called by benchmarks/gpu/run.sh as:
# peer.sh GPU_DIR OUT (after bench.sh, whose OUT/bench_java.jsonl it compares with).
set -uo pipefail
g="$1"; out="$2"
ref=/tmp/om2ref
if [ ! -d "$ref/src" ] && [ -f "$g/om2ref.tar.gz" ]; then mkdir -p "$ref" && tar -xzf "$g/om2ref.tar.gz" -C "$ref"; fi
printf '\n## PyTorch peer on cuda:0\n\n'
MAGVIT2_REF="$ref" python3 benchmarks/torch_gpu_peer.py --device cuda:0 --only hot,precision,bandwidth,launch,conv,tokenizer,ar \
  --seconds 0.5 > "$out/bench_torch.jsonl" 2> "$out/bench_torch.log"
echo "torch_gpu_peer.py exit status $? (log: bench_torch.log)"
echo
python3 benchmarks/gpu_compare.py "$out/bench_java.jsonl" "$out/bench_torch.jsonl"
