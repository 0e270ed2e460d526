#!/usr/bin/env python3
"""PyTorch GPU peer for magvit4j's GPU benchmarks (`./magvit4j bench --device cuda`): the same
workloads, names and shapes (dev.magvit4j.bench.Workloads) in PyTorch on the same device.

    python3 benchmarks/torch_gpu_peer.py [--device cuda|cuda:N|cpu] [--only NAMES]
        [--precision float32|tf32|bf16] [--reference DIR] [--seconds S] [--tiny] > torch_gpu.jsonl

--only takes workload names and the groups of `./magvit4j bench`: hot (the hot paths, the
default), tokenizer, ar, everything (hot, tokenizer, ar), bandwidth (each memory-bound kernel on
128 MiB tensors), precision (sgemm_4096 in float32, tf32 and bf16), launch (one op on 4 floats:
the cost of a launch), conv (conv3x3_128 at 256x256). One JSON object per workload per
line goes to stdout, progress to stderr; benchmarks/gpu_compare.py sets them beside magvit4j's.

Timing (peer_common.time_synced, as magvit4j's Timing.Clock on a GPU): warm-up of at least 3
runs and S/2 seconds, each followed by torch.cuda.synchronize(); then batches of runs lasting
about 2 ms with one synchronize each, for at least S seconds (default 1) and 5 batches (3 for
the models, 2 for the LFQ reference); the median per-run time is reported. Everything runs under torch.no_grad() except
the LFQ entropy loss and the training step (forward + backward).

Precision: the sgemm_4096_* workloads fix their own: float32 (matmul allow_tf32 off), tf32
(on), bf16 (operands converted to bfloat16 beforehand, product in bfloat16, as bf16 models
run). --precision sets the rest: float32 (default) turns TF32 off for matmuls and cuDNN
convolutions (PyTorch's default lets cuDNN use TF32); tf32 turns it on for both; bf16 runs them
under torch.autocast(bfloat16). cudnn.benchmark is on (cuDNN picks its fastest algorithm for
each shape during the warm-up).

Models: the tokenizer and AR workloads run the reference's own modules (Open-MAGVIT2's Encoder,
LFQ, Decoder, GPT and sample_Open_MAGVIT2), exactly as torch_tokenizer_peer.py and
torch_ar_peer.py build them (random weights, released configs), imported from the folder given
by --reference or $MAGVIT2_REF, holding the repository's src/ (a GPU machine without network:
carry the folder, e.g. unpack .gpu/om2ref.tar.gz there). Without one they are skipped.

--tiny shrinks every shape (and AR sampling to 2 positions, one timed run each) for a smoke
test, e.g. on the CPU: /usr/bin/python3 benchmarks/torch_gpu_peer.py --device cpu --tiny
--only everything,bandwidth,precision --reference /tmp/om2ref
"""

import argparse
import contextlib
import gc
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402
import torch_ar_peer as arp  # noqa: E402
import torch_peer as hp  # noqa: E402
import torch_tokenizer_peer as tp  # noqa: E402
from peer_common import log  # noqa: E402

HOT = ["sgemm_1024", "sgemm_2048", "conv3x3_128", "groupnorm_512", "depth_to_space_512",
       "lfq_entropy_4096", "attention_256"]
TOKENIZER = ["tok%d_%s_b%d" % (r, op, b) for r in (128, 256) for b in (1, 8) for op in ("encode", "decode")]
AR = ["arB_sample_b1", "arB_sample_b8", "ar_train_small"]
BANDWIDTH = ["bw_copy", "bw_exp", "bw_add", "bw_affine", "bw_sum_rows", "bw_softmax", "bw_rmsnorm",
             "bw_groupnorm", "bw_swiglu", "bw_depth_to_space", "bw_rope", "bw_adam", "bw_embedding"]
PRECISION = ["sgemm_4096_float32", "sgemm_4096_tf32", "sgemm_4096_bf16"]
LAUNCH = ["launch_axpby"]
CONV = ["conv3x3_128_256px"]  # magvit4j's conv group varies its method (_winograd, _direct) against these and conv3x3_128
GROUPS = {"hot": HOT, "tokenizer": TOKENIZER, "ar": AR, "bandwidth": BANDWIDTH, "precision": PRECISION, "launch": LAUNCH, "conv": CONV,
          "everything": HOT + TOKENIZER + AR}
BATCH_S = 2e-3  # timed batches last about this long on a GPU (one synchronize each)


class Workload:
    """What a builder returns: the timed function, its work (flops or bytes: GFLOP/s or GB/s
    are reported), how much the measured time must be scaled (the LFQ reference may have to run
    on fewer tokens), a fixed matmul precision, and what to record."""

    def __init__(self, fn, flops=None, nbytes=None, scale=1.0, precision=None, min_runs=5, **extra):
        self.fn, self.flops, self.nbytes, self.scale = fn, flops, nbytes, scale
        self.precision, self.min_runs, self.extra = precision, min_runs, extra


# --------------------------------------------------------------------------------------------
# Hot paths and matmul precisions (torch_peer.py's workloads, on a device)
# --------------------------------------------------------------------------------------------

def hot_path(torch, name, dev, tiny):
    F = torch.nn.functional
    randn = lambda *shape: torch.randn(*shape, device=dev)  # noqa: E731
    if name.startswith("sgemm_"):
        parts = name.split("_")
        n = 128 if tiny else int(parts[1])
        mode = parts[2] if len(parts) > 2 else None
        dtype = torch.bfloat16 if mode == "bf16" else torch.float32
        a, b = randn(n, n).to(dtype), randn(n, n).to(dtype)
        return Workload(lambda: torch.mm(a, b), flops=2 * n ** 3, precision=mode,
                        shape="%dx%d @ %dx%d, %s operands" % (n, n, n, n, str(dtype)[6:]))
    if name.startswith("conv3x3_128"):  # conv3x3_128 (64x64) or conv3x3_128_{hw}px
        hw = 16 if tiny else int(name[len("conv3x3_128_"):-2]) if name.endswith("px") else 64
        x, w = randn(1, 128, hw, hw), randn(128, 128, 3, 3) * 0.03
        return Workload(lambda: F.conv2d(x, w, padding=1), flops=2 * 128 * 128 * 9 * hw * hw,
                        shape="x[1,128,%d,%d] w[128,128,3,3] pad 1, no bias" % (hw, hw))
    if name in ("groupnorm_512", "depth_to_space_512"):
        hw = 8 if tiny else 64
        x = randn(1, 512, hw, hw)
        if name == "groupnorm_512":
            w, b = randn(512), randn(512)
            return Workload(lambda: F.group_norm(x, 32, w, b, eps=1e-6), nbytes=2 * 4 * x.numel())
        hp.check_d2s(torch)
        return Workload(lambda: hp.d2s_reference_order(torch, x), nbytes=2 * 4 * x.numel())
    if name == "attention_256":
        h, s, d = 16, 256, 64
        q, k, v = randn(1, h, s, d), randn(1, h, s, d), randn(1, h, s, d)
        if hasattr(F, "scaled_dot_product_attention"):
            fn, how = (lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True)), "F.scaled_dot_product_attention(is_causal=True)"
        else:  # torch 1.13 (the CPU smoke test): torch_peer.py's explicit masked softmax
            masked = torch.ones(s, s, dtype=torch.bool, device=dev).triu(1)
            fn = lambda: torch.softmax((q @ k.transpose(-2, -1) / math.sqrt(d)).masked_fill(masked, float("-inf")), -1) @ v  # noqa: E731
            how = "explicit masked softmax"
        return Workload(fn, flops=4 * h * s * s * d // 2, how=how)
    if name == "lfq_entropy_4096":
        return lfq_entropy(torch, dev, 256 if tiny else hp.LFQ_TOKENS)
    raise ValueError(name)


def lfq_entropy(torch, dev, tokens):
    """The reference's LFQ entropy loss (forward + backward), at the most tokens that fit, scaled
    to `tokens`: it holds several tokens x 2^18 tensors."""
    codebook = hp.lfq_codebook(torch).to(dev)
    t = tokens
    while True:
        z = torch.randn(t, hp.LFQ_BITS, device=dev, requires_grad=True)

        def fn():
            with torch.enable_grad():
                z.grad = None
                hp.lfq_entropy_reference(torch, z, codebook)[0].backward()
        try:
            fn()
            return Workload(fn, scale=tokens / t, min_runs=2, tokens_measured=t)
        except RuntimeError as e:
            if "out of memory" not in str(e) or t <= 512:
                raise
        # here, out of the except block, its traceback no longer holds the tensors
        log("  lfq_entropy: %d tokens do not fit, trying %d" % (t, t // 2))
        del z, fn
        free_memory(torch)
        t //= 2


# --------------------------------------------------------------------------------------------
# One launch (Workloads.launch()): y += 0.5 x on 4 floats, one kernel, so the time per run is
# what an op costs (PyTorch's dispatch and the launch, or the GPU's time per kernel)
# --------------------------------------------------------------------------------------------

def launch(torch, name, dev):
    x, y = torch.tensor([1.0, 2, 3, 4], device=dev), torch.tensor([4.0, 3, 2, 1], device=dev)
    return Workload(lambda: y.add_(x, alpha=0.5), nbytes=48)


# --------------------------------------------------------------------------------------------
# Memory-bound kernels (Workloads.bandwidth())
# --------------------------------------------------------------------------------------------

def bandwidth(torch, name, dev, tiny):
    F = torch.nn.functional
    n = 1 << (16 if tiny else 25)
    f = 4 * n  # bytes of one big tensor
    rows, tokens = n // 4096, n // 1024
    image = (1, 512, 8, 8) if tiny else (16, 512, 64, 64)
    heads = (n // (16 * 256 * 64), 16, 256, 64) if not tiny else (1, 16, 16, 64)
    randn = lambda *shape: torch.randn(*shape, device=dev)  # noqa: E731
    if name == "bw_copy":
        x, y = randn(n), torch.empty(n, device=dev)
        return Workload(lambda: y.copy_(x), nbytes=2 * f)
    if name == "bw_exp":
        x = randn(n)
        return Workload(lambda: torch.exp(x), nbytes=2 * f)
    if name == "bw_add":
        a, b = randn(n), randn(n)
        return Workload(lambda: a + b, nbytes=3 * f)
    if name == "bw_affine":
        x = randn(n)
        shift, scale = torch.tensor(1.0, device=dev), torch.tensor(0.5, device=dev)
        return Workload(lambda: torch.addcmul(shift, x, scale), nbytes=2 * f, how="torch.addcmul(1, x, 0.5): one kernel")
    if name == "bw_sum_rows":
        x = randn(rows, 4096)
        return Workload(lambda: x.sum(-1), nbytes=f + 4 * rows)
    if name == "bw_softmax":
        x = randn(rows, 4096)
        return Workload(lambda: torch.softmax(x, -1), nbytes=2 * f)
    if name == "bw_rmsnorm":
        x, w = randn(tokens, 1024), randn(1024)
        if hasattr(F, "rms_norm"):
            fn, how = (lambda: F.rms_norm(x, (1024,), w, 1e-5)), "F.rms_norm"
        else:  # the reference's RMSNorm (gpt.py), several kernels
            fn, how = (lambda: x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + 1e-5) * w), "gpt.py's RMSNorm formula"
        return Workload(fn, nbytes=2 * f + 4 * (tokens + 1024), how=how)
    if name == "bw_groupnorm":
        x, w, b = randn(*image), randn(512), randn(512)
        return Workload(lambda: F.group_norm(x, 32, w, b, eps=1e-6), nbytes=2 * 4 * x.numel())
    if name == "bw_swiglu":
        a, b = randn(n), randn(n)
        return Workload(lambda: F.silu(a) * b, nbytes=3 * f, how="F.silu(a) * b: two kernels")
    if name == "bw_depth_to_space":
        x = randn(*image)
        return Workload(lambda: hp.d2s_reference_order(torch, x), nbytes=2 * 4 * x.numel())
    if name == "bw_rope":
        x, cos, sin = randn(*heads), randn(heads[2], heads[3] // 2), randn(heads[2], heads[3] // 2)

        def rope():  # gpt.py's apply_rotary_emb on interleaved pairs
            x0, x1 = x.view(*heads[:3], -1, 2).unbind(-1)
            return torch.stack([x0 * cos - x1 * sin, x1 * cos + x0 * sin], -1).flatten(-2)
        return Workload(rope, nbytes=2 * 4 * x.numel() + 2 * 4 * cos.numel(), how="gpt.py's apply_rotary_emb formula")
    if name == "bw_adam":
        p = torch.nn.Parameter(randn(n))
        p.grad = randn(n)
        kw = dict(lr=1e-4, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.05)
        try:
            opt, how = torch.optim.AdamW([p], fused=True, **kw), "AdamW(fused=True)"
        except (TypeError, RuntimeError):  # no fused AdamW (torch 1.13, or this device)
            opt, how = torch.optim.AdamW([p], **kw), "AdamW"
        return Workload(opt.step, nbytes=7 * f, how=how)
    if name == "bw_embedding":
        vocab = 1024 if tiny else 1 << 16
        table = randn(vocab, n // vocab)
        idx = torch.randint(0, vocab, (vocab,), device=dev)
        return Workload(lambda: F.embedding(idx, table), nbytes=2 * 4 * table.numel() + 8 * vocab)
    raise ValueError(name)


# --------------------------------------------------------------------------------------------
# Models: the reference's modules, built as the CPU peers build them
# --------------------------------------------------------------------------------------------

def tokenizer(torch, name, dev, tiny, reference):
    improved_model, lfq_mod = tp.load_reference(reference)
    tp.check_einops_shim(torch)
    res, op, b = tp.parse_workload(name)
    mods = [m.to(dev) for m in tp.build(torch, improved_model, lfq_mod, res, op)]
    if op == "encode":
        enc, lfq = mods
        x = torch.rand(b, 3, res, res, device=dev) * 2 - 1
        fn = lambda: lfq(enc(x))  # noqa: E731
        z = enc(x)
        q, loss, (pre, post) = lfq(z)
        tp.check_encode_output(torch, z.cpu(), (q.cpu(), loss, (pre.cpu(), post.cpu())), b)
    else:
        (dec,) = mods
        codes = torch.randint(0, 2, (b, 18, tp.LATENT, tp.LATENT), device=dev).float() * 2 - 1
        fn = lambda: dec(codes)  # noqa: E731
        y = fn()
        assert y.shape == (b, 3, res, res) and torch.isfinite(y).all()
    return Workload(fn, min_runs=3, images_per_batch=b, config=tp.CONFIGS[res],
                    params=sum(p.numel() for m in mods for p in m.parameters()))


def ar(torch, name, dev, tiny, reference):
    gpt = pc.import_reference_module(reference, arp.MOD_GPT, arp.REL_GPT)
    arp.shim_torch2(torch, gpt)
    torch.manual_seed(0)
    if name.startswith("arB_sample_b"):
        b, positions = int(name[len("arB_sample_b"):]), 2 if tiny else arp.POSITIONS
        model = gpt.GPT(**arp.B_CONFIG).to(dev).eval()
        x = torch.cat([torch.arange(b) * 100, torch.full((b,), 1000)]).view(2 * b, 1).to(dev)

        def fn():
            return gpt.sample_Open_MAGVIT2(x, model, steps=positions, temperature=[1.0, 1.0],
                                           top_k=[0, 0], top_p=[1.0, 1.0], cfg_scale=[1.9, 2.0])
        pre, post = fn()
        assert pre.shape == (b, positions) and int(pre.max()) < 64 and int(post.max()) < 4096
        return Workload(fn, min_runs=3, image_tokens_per_run=b * positions,
                        params=sum(p.numel() for p in model.parameters()))
    model = gpt.GPT(**arp.SMALL_CONFIG).to(dev).train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    plain = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": plain, "weight_decay": 0.0}],
                            lr=3e-4, betas=(0.9, 0.95))
    batch = 1 if tiny else arp.TRAIN_BATCH
    pre = torch.randint(0, 64, (batch, 256), device=dev)
    post = torch.randint(0, 4096, (batch, 256), device=dev)
    cls = torch.randint(0, 1000, (batch, 1), device=dev)
    F = torch.nn.functional

    def fn():
        with torch.enable_grad():
            opt.zero_grad()
            logits, _ = model((pre, post, cls))
            loss = F.cross_entropy(logits[0].reshape(-1, 64), pre.reshape(-1)) + \
                F.cross_entropy(logits[1].reshape(-1, 4096), post.reshape(-1))
            loss.backward()
            opt.step()
    return Workload(fn, params=sum(p.numel() for p in model.parameters()), batch=batch)


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------

def free_memory(torch):
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def set_tf32(torch, on):
    """TF32 on or off for float32 matmuls and cuDNN convolutions (through fp32_precision where
    PyTorch has it, >= 2.9, else allow_tf32; the two APIs are not mixed). Returns a function that
    restores the previous settings."""
    def has(owner, attr):  # torch 1.13's cuda.matmul raises AssertionError for unknown names
        try:
            return owner is not None and attr is not None and hasattr(owner, attr)
        except AssertionError:
            return False
    flags = [(torch.backends.cuda.matmul, "fp32_precision", "allow_tf32"),
             (getattr(torch.backends.cudnn, "conv", None), "fp32_precision", None),
             (torch.backends.cudnn, None, "allow_tf32")]
    new_api = has(torch.backends.cuda.matmul, "fp32_precision")
    saved = []
    for owner, new, old in flags:
        attr = new if new_api else old
        if not has(owner, attr):
            continue
        saved.append((owner, attr, getattr(owner, attr)))
        setattr(owner, attr, ("tf32" if on else "ieee") if new_api else on)

    def restore():
        for owner, attr, value in saved:
            setattr(owner, attr, value)
    return restore


@contextlib.contextmanager
def precision_mode(torch, mode, dev):
    """float32 / tf32: TF32 off / on for matmuls and cuDNN; bf16: autocast to bfloat16 (TF32 on)."""
    restore = set_tf32(torch, mode in ("tf32", "bf16"))
    try:
        if mode == "bf16" and dev.type == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                yield
        else:
            yield
    finally:
        restore()


def measure(torch, name, dev, args):
    if name in TOKENIZER + AR and not args.reference:
        raise SkipWorkload("no reference checkout: give --reference DIR or set MAGVIT2_REF")
    with torch.no_grad():  # the builders' checks too (the fns that need gradients enable them)
        if name in BANDWIDTH:
            w = bandwidth(torch, name, dev, args.tiny)
        elif name in LAUNCH:
            w = launch(torch, name, dev)
        elif name in HOT or name in PRECISION or name in CONV:
            w = hot_path(torch, name, dev, args.tiny)
        else:
            w = (tokenizer if name in TOKENIZER else ar)(torch, name, dev, args.tiny, args.reference)
    mode = w.precision or args.precision
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    with precision_mode(torch, mode, dev), torch.no_grad():
        if args.tiny:
            times = pc.time_synced(w.fn, sync, min_s=0.0, min_runs=1, min_warm_runs=1)
        else:
            times = pc.time_synced(w.fn, sync, min_s=args.seconds, min_runs=w.min_runs,
                                   batch_s=BATCH_S if dev.type == "cuda" else 0.0)
    ms = statistics.median(times) * w.scale
    rec = {"workload": name, "ms": ms}
    if w.flops:
        rec["gflops"] = w.flops / (ms * 1e-3) / 1e9
    if w.nbytes:
        rec["gbps"] = w.nbytes / (ms * 1e-3) / 1e9
    if "images_per_batch" in w.extra:
        rec["images_per_s"] = w.extra["images_per_batch"] / (ms * 1e-3)
    if "image_tokens_per_run" in w.extra:
        rec["image_tokens_per_s"] = w.extra["image_tokens_per_run"] / (ms * 1e-3)
    rec.update({"device": str(dev), "torch": torch.__version__, "precision": mode})
    if args.tiny:
        rec["tiny"] = True
    rec["extra"] = dict(w.extra, runs=len(times), ms_min=min(times) * w.scale, ms_max=max(times) * w.scale)
    if w.scale != 1.0:
        rec["extra"]["ms_scaled_by"] = w.scale
    return rec


class SkipWorkload(Exception):
    pass


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    ap.add_argument("--only", default=None, help="workloads and groups (%s), comma-separated" % ", ".join(GROUPS))
    ap.add_argument("--precision", default="float32", choices=["float32", "tf32", "bf16"])
    ap.add_argument("--reference", default=os.environ.get("MAGVIT2_REF"),
                    help="folder holding the Open-MAGVIT2 repository's src/ (default: $MAGVIT2_REF)")
    ap.add_argument("--seconds", type=float, default=1.0, help="timed seconds per workload (default 1)")
    ap.add_argument("--tiny", action="store_true", help="tiny shapes, one timed run: a smoke test")
    args = ap.parse_args()
    names = []
    for n in (args.only.split(",") if args.only else HOT):
        n = n.strip()
        if n in GROUPS:
            names += GROUPS[n]
        elif n in HOT + TOKENIZER + AR + BANDWIDTH + PRECISION + LAUNCH + CONV:
            names.append(n)
        else:
            raise SystemExit("unknown workload or group %r; known: %s and the groups %s"
                             % (n, ", ".join(HOT + TOKENIZER + AR + BANDWIDTH + PRECISION + LAUNCH + CONV), ", ".join(GROUPS)))
    if args.reference:
        args.reference = os.path.abspath(args.reference)

    import torch
    dev = torch.device(args.device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        log("torch %s on %s (%s), precision %s" % (torch.__version__, dev, torch.cuda.get_device_name(dev), args.precision))
    else:
        log("torch %s on the CPU, %d threads, precision %s" % (torch.__version__, torch.get_num_threads(), args.precision))
    failed = []
    for name in names:
        log("%s ..." % name)
        try:
            rec = measure(torch, name, dev, args)
        except SkipWorkload as e:
            log("  skipped: %s" % e)
            continue
        except Exception as e:  # one failure must not stop a run on a lent GPU
            log("  failed: %s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
            failed.append(name)
            continue
        finally:
            free_memory(torch)
        log("  %.3f ms" % rec["ms"])
        print(json.dumps(rec), flush=True)
    if failed:
        log("failed: " + ", ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
