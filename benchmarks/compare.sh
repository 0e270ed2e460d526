#!/usr/bin/env bash
# Side by side on this machine, in one run: the PyTorch CPU peer, then magvit4j, then a table.
#   benchmarks/compare.sh [THREADS] [--only a,b]      (default: all cores, all workloads)
# Needs Debian's python3-torch with libopenblas0-pthread (/usr/bin/python3); see shared/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-$(nproc)}"; shift || true
mkdir -p target
/usr/bin/python3 benchmarks/torch_peer.py --threads "$threads" --repeat 2 "$@" > target/torch.jsonl
./magvit4j bench --threads "$threads" --repeat 2 --json target/java.jsonl "$@"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $threads threads; $(date -u +%Y-%m-%d)"
/usr/bin/python3 benchmarks/compare.py target/java.jsonl target/torch.jsonl
