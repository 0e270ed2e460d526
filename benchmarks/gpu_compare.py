#!/usr/bin/env python3
"""Sets magvit4j's GPU benchmark results beside PyTorch's, as markdown tables on stdout.

    python3 benchmarks/gpu_compare.py JAVA.jsonl TORCH.jsonl

JAVA.jsonl: `./magvit4j bench --device cuda --json FILE`; TORCH.jsonl: the stdout of
benchmarks/torch_gpu_peer.py on the same device. speedup = PyTorch ms / magvit4j ms (above 1:
magvit4j is faster). The targets are issue 5's: each memory-bound kernel at >= 0.8 of the
device's copy bandwidth, the bf16 matmul at >= 0.7x PyTorch, the models at >= 1.0x.
"""
import json
import sys


def load(path):
    with open(path) as f:
        return {r["workload"]: r for r in map(json.loads, filter(str.strip, f))}


def verdict(ok):
    return "met" if ok else "**not met**"


def speedup(j, t):
    return t["ms"] / j["ms"] if t else None


def base(name):
    """The workload a variant varies: sgemm_4096_bf16_mmasync -> sgemm_4096_bf16, conv3x3_128_direct -> conv3x3_128."""
    for suffix in ("_mmasync", "_jcuda", "_winograd", "_direct"):
        name = name.removesuffix(suffix)
    return name


def fmt(v, spec):
    return "n/a" if v is None else format(v, spec)


def main():
    java, torch = load(sys.argv[1]), load(sys.argv[2])
    one = next(iter(java.values()), {})
    peer = next(iter(torch.values()), {})
    print("magvit4j on %s (matmul precision %s); PyTorch %s on %s (precision %s)%s" % (
        one.get("device", "?"), one.get("precision", "?"), peer.get("torch", "?"), peer.get("device", "?"),
        peer.get("precision", "?"), "; PyTorch ran --tiny shapes: its numbers mean nothing" if peer.get("tiny") else ""))

    bw = [n for n in java if n.startswith("bw_")]
    if bw:
        print("\nMemory-bound kernels (device copy bandwidth %s GB/s; target >= 0.8 of it):\n" % fmt(java[bw[0]].get("ceiling"), ".0f"))
        print("| kernel | magvit4j GB/s | of copy | target | PyTorch GB/s | speedup |")
        print("| --- | ---: | ---: | --- | ---: | ---: |")
        for n in bw:
            j, t = java[n], torch.get(n)
            ratio = j.get("ratio")
            print("| %s | %.0f | %s | %s | %s | %s |" % (n, j["gbps"], fmt(ratio, ".2f"), "" if ratio is None else verdict(ratio >= 0.8),
                                                      fmt(t and t.get("gbps"), ".0f"), fmt(speedup(j, t), ".2f")))

    rest = [n for n in java if not n.startswith("bw_")]
    if rest:
        print("\nHot paths, matmul precisions and models:\n")
        print("| workload | magvit4j ms | PyTorch ms | speedup | target | magvit4j throughput | PyTorch throughput |")
        print("| --- | ---: | ---: | ---: | --- | ---: | ---: |")
        for n in rest:
            # variants (sgemm_4096_*_mmasync: the compute_80 kernels; launch_axpby_jcuda: JCuda's
            # launch; conv3x3_*_winograd / _direct: the convolution method) are set against the
            # same peer as the workload they vary
            j, t = java[n], torch.get(n, torch.get(base(n)))
            s = speedup(j, t)
            need = 0.7 if n.endswith(("_bf16", "_bf16_mmasync")) else 1.0 if n.startswith(("tok", "arB_sample")) else None
            target = "" if need is None or s is None else ">= %.1fx: %s" % (need, verdict(s >= need))
            unit, key = ("GB/s", "gbps") if "gbps" in j else ("GFLOP/s", "gflops")
            print("| %s | %.3f | %s | %s | %s | %.1f %s | %s |" % (n, j["ms"], fmt(t and t["ms"], ".3f"), fmt(s, ".2f"), target, j[key], unit,
                                                               "" if not t or key not in t else "%.1f %s" % (t[key], unit)))
    for n in java:
        if n in torch and "precision" in java[n] and not n.startswith("sgemm_4096_") and java[n]["precision"] != torch[n].get("precision"):
            print("\nnote: %s ran in %s on magvit4j and %s on PyTorch" % (n, java[n].get("precision"), torch[n].get("precision")))
    missing = [n for n in java if n not in torch and base(n) not in torch]
    if missing:
        print("\nno PyTorch result for: " + ", ".join(missing))


if __name__ == "__main__":
    main()
