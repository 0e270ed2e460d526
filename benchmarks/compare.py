#!/usr/bin/python3
"""Merges the Java and PyTorch benchmark results (JSON lines) into a markdown table.

    benchmarks/compare.py JAVA.jsonl TORCH.jsonl

speedup = PyTorch ms / magvit4j ms (above 1: magvit4j is faster).
"""
import json
import sys


def load(path):
    with open(path) as f:
        return {r["workload"]: r for r in map(json.loads, filter(str.strip, f))}


java, torch = load(sys.argv[1]), load(sys.argv[2])
print("| workload | magvit4j ms | PyTorch ms | speedup | magvit4j throughput | magvit4j / machine peak |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name, j in java.items():
    t = torch.get(name)
    unit = "GB/s" if "gbps" in j else "GFLOP/s"
    value = j.get("gbps", j.get("gflops"))
    tms = f"{t['ms']:.3f}" if t else "n/a"
    if t and t.get("tokens_measured") not in (None, 4096):
        tms += f" (scaled from {t['tokens_measured']} tokens)"
    speed = f"{t['ms'] / j['ms']:.2f}x" if t else "n/a"
    print(f"| {name} | {j['ms']:.3f} | {tms} | {speed} | {value:.1f} {unit} | {j['ratio']:.2f} |")
