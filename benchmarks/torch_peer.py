#!/usr/bin/python3
"""PyTorch CPU peer for magvit4j's side-by-side benchmarks.

Run with Debian's interpreter (python3-torch 1.13 + libopenblas0-pthread):

    /usr/bin/python3 benchmarks/torch_peer.py [--threads N] [--only NAME[,NAME]] [--repeat N]

Every workload is timed in fresh child processes, once with OMP_WAIT_POLICY=PASSIVE and once
with the variable unset (the default policy); the variable must be set before torch is
imported, hence the children. One JSON object per workload per line goes to stdout
("ms" is the faster of "ms_passive" and "ms_default"); progress goes to stderr. With
--repeat N each policy is timed in N fresh children and the lowest median is kept.

Timing per workload and policy: warm up for at least 2 runs and 0.5 s, then repeat until at
least 1 s and 5 runs have been timed, report the median (lfq_entropy_4096: 1 warm-up run and
at least 2 timed runs, it is slow). Forward-only workloads run under torch.no_grad().
"""

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_common import child_env, log, time_fn, time_policies  # noqa: E402

WORKLOADS = [
    "sgemm_1024",
    "sgemm_2048",
    "conv3x3_128",
    "groupnorm_512",
    "depth_to_space_512",
    "lfq_entropy_4096",
    "attention_256",
]

LFQ_BITS = 18
LFQ_TOKENS = 4096
LFQ_TRY = (4096, 2048, 1024, 512)
LFQ_TEMPERATURE = 0.01
LFQ_EPS = 1e-5
LFQ_SEED = 0
# Cross-check input that needs no torch RNG: z[t, k] = float32(0.02 * sin(1.1 t + 2.3 k + 0.5))
# computed in double, for t < LFQ_CHECK_TOKENS, k < 18.
LFQ_CHECK_TOKENS = 256


def d2s_reference_order(torch, x, block=2):
    """DCR depth-to-space: out[n, c, 2y+i, 2x+j] = in[n, (2i+j)*C + c, y, x]."""
    n, c4, h, w = x.shape
    c = c4 // (block * block)
    return (x.view(n, block, block, c, h, w)
            .permute(0, 3, 4, 1, 5, 2)
            .reshape(n, c, h * block, w * block))


def check_d2s(torch):
    n, c, h, w = 2, 3, 4, 5
    x = torch.arange(n * 4 * c * h * w, dtype=torch.float32).view(n, 4 * c, h, w)
    y = d2s_reference_order(torch, x)
    assert y.shape == (n, c, 2 * h, 2 * w) and y.is_contiguous()
    for b in range(n):
        for ch in range(c):
            for yy in range(h):
                for xx in range(w):
                    for i in range(2):
                        for j in range(2):
                            assert y[b, ch, 2 * yy + i, 2 * xx + j] == x[b, (2 * i + j) * c + ch, yy, xx]


def lfq_codebook(torch, bits=LFQ_BITS):
    idx = torch.arange(1 << bits, dtype=torch.int64)
    mask = 1 << torch.arange(bits, dtype=torch.int64)  # channel 0 = least significant bit
    return ((idx.unsqueeze(1) & mask) != 0).float() * 2.0 - 1.0  # (2^bits, bits), +-1


def lfq_entropy_reference(torch, z, codebook):
    """Open-MAGVIT2's LFQ entropy loss as the reference writes it (materialises N x 2^18)."""
    F = torch.nn.functional
    logits = 2 * z @ codebook.t()
    probs = F.softmax(logits / LFQ_TEMPERATURE, -1)
    log_probs = F.log_softmax(logits / LFQ_TEMPERATURE + LFQ_EPS, -1)
    per_sample_entropy = -(probs * log_probs).sum(-1).mean()
    avg_probs = probs.mean(0)
    codebook_entropy = -(avg_probs * torch.log(avg_probs + LFQ_EPS)).sum()
    return per_sample_entropy - codebook_entropy, per_sample_entropy, codebook_entropy


def lfq_check_z(torch, tokens=LFQ_CHECK_TOKENS):
    t = torch.arange(tokens, dtype=torch.float64).unsqueeze(1)
    k = torch.arange(LFQ_BITS, dtype=torch.float64).unsqueeze(0)
    return (0.02 * torch.sin(1.1 * t + 2.3 * k + 0.5)).float()


def make_workload(torch, name, tokens=None):
    """Returns fn, which runs the workload once (flops/bytes are in WORKLOAD_META)."""
    F = torch.nn.functional
    g = torch.Generator().manual_seed(1234)
    if name in ("sgemm_1024", "sgemm_2048"):
        n = int(name.split("_")[1])
        a = torch.randn(n, n, generator=g)
        b = torch.randn(n, n, generator=g)
        c = torch.empty(n, n)

        def fn():
            with torch.no_grad():
                torch.mm(a, b, out=c)
    elif name == "conv3x3_128":
        x = torch.randn(1, 128, 64, 64, generator=g)
        w = torch.randn(128, 128, 3, 3, generator=g) * 0.03

        def fn():
            with torch.no_grad():
                F.conv2d(x, w, padding=1)
    elif name == "groupnorm_512":
        x = torch.randn(1, 512, 64, 64, generator=g)
        wt = torch.randn(512, generator=g)
        bs = torch.randn(512, generator=g)

        def fn():
            with torch.no_grad():
                F.group_norm(x, 32, wt, bs, eps=1e-6)
    elif name == "depth_to_space_512":
        check_d2s(torch)
        x = torch.randn(1, 512, 64, 64, generator=g)
        y = d2s_reference_order(torch, x)
        assert y.is_contiguous() and y.shape == (1, 128, 128, 128)
        assert y.data_ptr() != x.data_ptr()

        def fn():
            with torch.no_grad():
                d2s_reference_order(torch, x)
    elif name == "attention_256":
        h, s, d = 16, 256, 64
        q = torch.randn(1, h, s, d, generator=g)
        k = torch.randn(1, h, s, d, generator=g)
        v = torch.randn(1, h, s, d, generator=g)
        masked = torch.ones(s, s, dtype=torch.bool).triu(1)  # True above the diagonal

        def fn():
            with torch.no_grad():
                att = (q @ k.transpose(-2, -1)) / math.sqrt(d)
                att = att.masked_fill(masked, float("-inf"))
                att = torch.softmax(att, -1)
                att @ v
    elif name == "lfq_entropy_4096":
        codebook = lfq_codebook(torch)
        z = torch.randn(tokens, LFQ_BITS, generator=torch.Generator().manual_seed(LFQ_SEED))
        z.requires_grad_(True)

        def fn():
            z.grad = None
            loss, _, _ = lfq_entropy_reference(torch, z, codebook)
            loss.backward()
    else:
        raise SystemExit("unknown workload " + name)
    return fn


def child_main(args):
    import torch
    torch.set_num_threads(args.threads)
    name = args.only
    if name == "lfq_entropy_4096":
        time_kw = dict(min_warm_runs=1, min_warm_s=0.0, min_runs=2, min_s=0.0)
    else:
        time_kw = dict(min_warm_s=0.5, min_s=1.0)  # half a second of warm-up, one second of runs
    fn = make_workload(torch, name, tokens=args.tokens)
    times = time_fn(fn, **time_kw)
    out = {"ms": statistics.median(times), "runs": len(times),
           "ms_min": min(times), "ms_max": max(times)}
    print(json.dumps(out), flush=True)


def lfq_probe_main(args):
    """One forward+backward at args.tokens under an address-space limit; exit 3 on OOM."""
    if args.as_limit > 0:
        resource.setrlimit(resource.RLIMIT_AS, (args.as_limit, args.as_limit))
    import torch
    torch.set_num_threads(args.threads)
    codebook = lfq_codebook(torch)
    z = torch.randn(args.tokens, LFQ_BITS, generator=torch.Generator().manual_seed(LFQ_SEED))
    z.requires_grad_(True)
    if args.baseline:
        print(json.dumps({"ok": True}), flush=True)
        return
    try:
        loss, ps, cb = lfq_entropy_reference(torch, z, codebook)
        loss.backward()
    except (RuntimeError, MemoryError) as e:
        print(json.dumps({"ok": False, "error": str(e).splitlines()[0][:200]}), flush=True)
        sys.exit(3)
    print(json.dumps({"ok": True, "seed": LFQ_SEED, "tokens": args.tokens,
                      "per_sample_entropy": ps.item(), "codebook_entropy": cb.item(),
                      "loss": loss.item(), "grad_abs_sum": z.grad.abs().sum().item()}), flush=True)


def lfq_check_main(args):
    """Entropies on a formula-defined z (no torch RNG), float32 and float64."""
    import torch
    torch.set_num_threads(args.threads)
    z = lfq_check_z(torch)
    res = {"z_formula": "float32(0.02*sin(1.1*t + 2.3*k + 0.5)) in double, t<%d, k<%d"
                        % (LFQ_CHECK_TOKENS, LFQ_BITS)}
    for dt, tag in ((torch.float32, "f32"), (torch.float64, "f64")):
        cb = lfq_codebook(torch).to(dt)
        with torch.no_grad():
            loss, ps, ce = lfq_entropy_reference(torch, z.to(dt), cb)
        res[tag] = {"per_sample_entropy": ps.item(), "codebook_entropy": ce.item(),
                    "loss": loss.item()}
    print(json.dumps(res), flush=True)


# --------------------------------------------------------------------------------------------
# Parent side (never imports torch)
# --------------------------------------------------------------------------------------------

def run_child(extra_args, policy, threads):
    """Runs this script as a fresh child; returns (rc, last JSON line or None, maxrss KiB)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--threads", str(threads)] + extra_args
    p = subprocess.Popen(cmd, env=child_env(policy, threads), stdout=subprocess.PIPE)
    out = p.stdout.read().decode()
    # wait4 gives this one child's rusage: its ru_maxrss is exactly what
    # getrusage(RUSAGE_CHILDREN) would show in a parent that had waited for it alone.
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") \
        else (status >> 8)
    lines = [l for l in out.splitlines() if l.strip().startswith("{")]
    return p.returncode, (json.loads(lines[-1]) if lines else None), ru.ru_maxrss


def mem_available_bytes():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def torch_version():
    out = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                         stdout=subprocess.PIPE, env=child_env("default", 1)).stdout.decode()
    return out.strip()


def lfq_prepare(threads):
    """Picks the largest token count that fits, measures its peak RSS, cross-check values."""
    info = {}
    for tokens in LFQ_TRY:
        limit = mem_available_bytes() - (512 << 20)
        log("  lfq probe: %d tokens, RLIMIT_AS %.1f GiB" % (tokens, limit / 2 ** 30))
        rc, res, rss = run_child(["--_lfq_probe", "--tokens", str(tokens),
                                  "--as_limit", str(limit)], "passive", threads)
        if rc == 0 and res and res.get("ok"):
            info["tokens"] = tokens
            info["probe"] = res
            info["maxrss_kib"] = rss
            break
        log("    does not fit (rc %s): %s" % (rc, res and res.get("error")))
        info.setdefault("did_not_fit", []).append(tokens)
    else:
        raise SystemExit("lfq_entropy_4096: no token count fits")
    _, _, base = run_child(["--_lfq_probe", "--tokens", str(info["tokens"]), "--baseline",
                            "--as_limit", "0"], "passive", threads)
    info["baseline_maxrss_kib"] = base
    _, check, _ = run_child(["--_lfq_check"], "passive", threads)
    info["check"] = check
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default=None, help="NAME[,NAME] of: " + ",".join(WORKLOADS))
    ap.add_argument("--repeat", type=int, default=1,
                    help="time each policy in N fresh children, keep the lowest median "
                         "(for a machine shared with other work)")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_lfq_probe", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_lfq_check", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--baseline", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tokens", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--as_limit", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        return child_main(args)
    if args._lfq_probe:
        return lfq_probe_main(args)
    if args._lfq_check:
        return lfq_check_main(args)

    names = WORKLOADS if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    for n in names:
        if n not in WORKLOADS:
            raise SystemExit("unknown workload %r; known: %s" % (n, ", ".join(WORKLOADS)))
    version = torch_version()
    log("torch %s, %d thread(s), workloads: %s" % (version, args.threads, ", ".join(names)))
    for name in names:
        rec = {"workload": name}
        lfq = None
        child_args = ["--_child", "--only", name]
        if name == "lfq_entropy_4096":
            log("%s: choosing token count / measuring memory" % name)
            lfq = lfq_prepare(args.threads)
            child_args += ["--tokens", str(lfq["tokens"])]
        res, medians = time_policies(__file__, name, child_args, args.threads, None, args.repeat)
        scale = 1.0
        if lfq:
            scale = LFQ_TOKENS / lfq["tokens"]
        ms_p = res["passive"]["ms"] * scale
        ms_d = res["default"]["ms"] * scale
        rec["ms"] = min(ms_p, ms_d)
        rec["ms_passive"] = ms_p
        rec["ms_default"] = ms_d
        rec["faster"] = "passive" if ms_p <= ms_d else "default"
        # flops / bytes need the workload description only: build it without torch here
        meta = WORKLOAD_META[name]
        if "flops" in meta:
            rec["gflops"] = meta["flops"] / (rec["ms"] * 1e-3) / 1e9
        if "bytes" in meta:
            rec["gbps"] = meta["bytes"] / (rec["ms"] * 1e-3) / 1e9
        if lfq:
            rec["tokens_measured"] = lfq["tokens"]
            rec["mem_mib"] = (lfq["maxrss_kib"] - lfq["baseline_maxrss_kib"]) / 1024
        rec["threads"] = args.threads
        rec["torch"] = version
        extra = dict(meta.get("extra", {}))
        extra["runs"] = {p: res[p]["runs"] for p in res}
        extra["ms_min"] = {p: res[p]["ms_min"] * scale for p in res}
        if args.repeat > 1:
            extra["repeat_medians_ms"] = {p: [m * scale for m in medians[p]] for p in medians}
        if lfq:
            extra["tokens_measured"] = lfq["tokens"]
            extra["ms_scaled_to_tokens"] = LFQ_TOKENS
            extra["ms_measured"] = {p: res[p]["ms"] for p in res}
            if "did_not_fit" in lfq:
                extra["tokens_did_not_fit"] = lfq["did_not_fit"]
            extra["peak_rss_mib"] = lfq["maxrss_kib"] / 1024
            extra["baseline_rss_mib"] = lfq["baseline_maxrss_kib"] / 1024
            extra["mem_mib"] = (lfq["maxrss_kib"] - lfq["baseline_maxrss_kib"]) / 1024
            extra["mem_note"] = "ru_maxrss of a fresh child doing one fwd+bwd at tokens_measured, " \
                                "minus a child that only imports torch and makes z"
            extra["check_randn"] = {k: lfq["probe"][k] for k in
                                    ("seed", "tokens", "per_sample_entropy", "codebook_entropy",
                                     "loss", "grad_abs_sum")}
            extra["check_randn"]["z"] = "torch.randn(tokens, 18, generator=manual_seed(0))"
            extra["check_formula"] = lfq["check"]
        rec["extra"] = extra
        print(json.dumps(rec), flush=True)


WORKLOAD_META = {
    "sgemm_1024": {"flops": 2 * 1024 ** 3, "extra": {"flops_formula": "2*n^3"}},
    "sgemm_2048": {"flops": 2 * 2048 ** 3, "extra": {"flops_formula": "2*n^3"}},
    "conv3x3_128": {"flops": 2 * 128 * 128 * 9 * 64 * 64,
                    "extra": {"flops_formula": "2*Cin*Cout*9*H*W (direct convolution)",
                              "shape": "x[1,128,64,64] w[128,128,3,3] pad 1, no bias"}},
    "groupnorm_512": {"bytes": 2 * 4 * 512 * 64 * 64,
                      "extra": {"bytes_formula": "2*4*numel", "groups": 32, "eps": 1e-6}},
    "depth_to_space_512": {"bytes": 2 * 4 * 512 * 64 * 64,
                           "extra": {"bytes_formula": "2*4*numel", "order": "DCR",
                                     "torch": "x.view(1,2,2,128,64,64).permute(0,3,4,1,5,2)"
                                              ".reshape(1,128,128,128)",
                                     "tiny_example_assert": "passed"}},
    "lfq_entropy_4096": {"extra": {"what": "reference LFQ entropy loss, forward + backward, "
                                           "18 bits, T=0.01, eps=1e-5"}},
    "attention_256": {"flops": 4 * 16 * 256 * 256 * 64 // 2,
                      "extra": {"flops_formula": "4*heads*S*S*D/2 (QK^T and PV, causal half)",
                                "shape": "q,k,v [1,16,256,64], scale 1/8, explicit masked softmax"}},
}


if __name__ == "__main__":
    main()
