"""Shared machinery of the PyTorch peers (torch_tokenizer_peer.py, torch_ar_peer.py on the CPU,
torch_gpu_peer.py on a GPU): timing loops, and fresh child processes under both OpenMP wait
policies (shared/README.md: OMP_WAIT_POLICY must be set before torch is imported, and either
policy can be the faster)."""

import json
import math
import os
import subprocess
import sys
import time


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def time_fn(fn, min_warm_runs=2, min_runs=5, min_s=2.0, min_warm_s=0.0):
    """Milliseconds of each timed run, after warm-up (at least min_warm_runs runs and min_warm_s
    seconds): at least min_runs runs and min_s seconds."""
    t0 = time.perf_counter()
    n = 0
    while n < min_warm_runs or time.perf_counter() - t0 < min_warm_s:
        fn()
        n += 1
    times = []
    t0 = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - t0 < min_s:
        s = time.perf_counter()
        fn()
        times.append((time.perf_counter() - s) * 1e3)
    return times


def time_synced(fn, sync, min_s=1.0, min_runs=5, batch_s=0.0, min_warm_runs=3):
    """Milliseconds per run, as magvit4j's Timing measures on a device: warm-up (at least
    min_warm_runs runs and min_s / 2 seconds, each run followed by sync, which waits for the work
    it queued), then batches of runs lasting about batch_s with one sync each (one run per batch
    when batch_s is 0), until at least min_runs batches and min_s seconds. One entry per batch:
    its time divided by its runs."""
    def batch(runs):
        s = time.perf_counter()
        for _ in range(runs):
            fn()
        sync()
        return time.perf_counter() - s

    t0 = time.perf_counter()
    n, last = 0, 0.0
    while n < min_warm_runs or time.perf_counter() - t0 < min_s / 2:
        last = batch(1)
        n += 1
    per_batch = 1 if batch_s <= 0 else min(1000, max(1, math.ceil(batch_s / max(last, 1e-9))))
    times = []
    t0 = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - t0 < min_s:
        times.append(batch(per_batch) / per_batch * 1e3)
    return times


def child_env(policy, threads):
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    env["OMP_NUM_THREADS"] = str(threads)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    return env


def run_child(script, extra_args, policy, threads, reference):
    """Runs script as a fresh child (with --reference unless it is None); returns (exit code,
    its last JSON line or None)."""
    cmd = [sys.executable, os.path.abspath(script), "--threads", str(threads)] \
        + (["--reference", reference] if reference else []) + extra_args
    p = subprocess.run(cmd, env=child_env(policy, threads), stdout=subprocess.PIPE)
    lines = [l for l in p.stdout.decode().splitlines() if l.strip().startswith("{")]
    return p.returncode, (json.loads(lines[-1]) if lines else None)


def time_policies(script, name, child_args, threads, reference, repeat):
    """Times one workload under both policies, each in `repeat` fresh children; returns
    (best result per policy, all medians per policy)."""
    best, medians = {}, {"passive": [], "default": []}
    for rep in range(repeat):
        for policy in ("passive", "default"):
            log("%s: timing, OMP_WAIT_POLICY %s%s" % (
                name, "PASSIVE" if policy == "passive" else "unset",
                "" if repeat == 1 else " (repeat %d/%d)" % (rep + 1, repeat)))
            rc, r = run_child(script, child_args, policy, threads, reference)
            if rc != 0 or r is None:
                raise SystemExit("%s (%s) failed with exit code %s" % (name, policy, rc))
            medians[policy].append(r["ms"])
            if policy not in best or r["ms"] < best[policy]["ms"]:
                best[policy] = r
            log("  median %.3f ms over %d runs (min %.3f, max %.3f)"
                % (r["ms"], r["runs"], r["ms_min"], r["ms_max"]))
    return best, medians


def import_reference_module(reference, module, rel_path):
    """Imports `module` (e.g. src.Open_MAGVIT2.modules.transformer.gpt) from the checkout's
    src/ package; the benchmarks/ folder (which has a Java `src/`) must not shadow it."""
    import importlib
    import importlib.util
    ref = os.path.abspath(reference)
    path = os.path.join(ref, rel_path)
    if not os.path.isfile(path):
        raise SystemExit("reference file not found: " + path)
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    sys.path.insert(1, ref)
    try:
        m = importlib.import_module(module)
        if os.path.realpath(m.__file__) != os.path.realpath(path):
            raise ImportError("%s resolved to %s" % (module, m.__file__))
    except ImportError as e:
        log("  package import of %s failed (%s); loading the file by path" % (module, e))
        spec = importlib.util.spec_from_file_location(module.replace(".", "_"), path)
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
    return m
