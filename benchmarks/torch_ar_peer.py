#!/usr/bin/python3
"""PyTorch CPU peer for magvit4j's AR benchmarks: times the reference implementation's OWN
transformer (Open-MAGVIT2's GPT and its sampling function sample_Open_MAGVIT2, from
src/Open_MAGVIT2/modules/transformer/gpt.py), imported from a checkout given on the command
line and never copied into this project.

    /usr/bin/python3 benchmarks/torch_ar_peer.py --reference DIR [--threads N] [--only NAME[,NAME]] [--repeat N]

DIR holds the repository's `src/` package (see torch_tokenizer_peer.py for how to make one).
On Debian's torch 1.13 two PyTorch 2 features the file uses are missing and are shimmed with
their documented semantics: F.scaled_dot_product_attention (softmax(q kT scale + mask) v, with
is_causal and boolean or additive masks), and `with torch.device(...)` as a context manager,
which sample_Open_MAGVIT2 uses only to choose where caches are allocated (here: the CPU).

Workloads (the same as magvit4j's, see Workloads.java):
  arB_sample_b{1,8}: the released B config (dim 1024, 16 heads, 24 + 2 layers, 6 + 12 bits) with
      the reference's init (seed 0), eval(); sample_Open_MAGVIT2 for the first 32 positions of
      B images with guidance (2B rows: classes, then the "no class" label 1000), the released
      B settings: temperature 1.0/1.0, top-k 0, top-p 1.0, cfg 1.9/2.0.
  ar_train_small: GPT(dim 384, 6 heads, 6 + 2 layers, block 256, 1000 classes, token_drop and
      resid_dropout 0.1, ffn_dropout 0.1) in train(); one step = forward of full sequences
      (pre, post, class) of batch 4, loss CE(pre) + CE(post), backward, AdamW(lr 3e-4,
      betas (0.9, 0.95), weight decay 0.05 on >= 2-D parameters only).
Each is timed in fresh children under both OpenMP wait policies (peer_common.py); one JSON
object per workload on stdout ("ms" per run, the faster policy).
"""

import argparse
import contextlib
import json
import math
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402

REL_GPT = os.path.join("src", "Open_MAGVIT2", "modules", "transformer", "gpt.py")
MOD_GPT = "src.Open_MAGVIT2.modules.transformer.gpt"
POSITIONS = 32
B_CONFIG = dict(vocab_size=512, block_size=256, spatial_n_layer=24, factorized_n_layer=2,
                factorized_bits=[6, 12], n_head=16, dim=1024, cond_dim=1024, token_drop=0.1,
                resid_dropout_p=0.1, token_factorization=True, class_num=1000)
SMALL_CONFIG = dict(vocab_size=512, block_size=256, spatial_n_layer=6, factorized_n_layer=2,
                    factorized_bits=[6, 12], n_head=6, dim=384, cond_dim=384, token_drop=0.1,
                    resid_dropout_p=0.1, token_factorization=True, class_num=1000)
TRAIN_BATCH = 4
WORKLOADS = ["arB_sample_b1", "arB_sample_b8", "ar_train_small"]


def shim_torch2(torch, gpt):
    F = torch.nn.functional
    if not hasattr(F, "scaled_dot_product_attention"):
        def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
            L, S = q.size(-2), k.size(-2)
            s = (q @ k.transpose(-2, -1)) * (1 / math.sqrt(q.size(-1)) if scale is None else scale)
            if is_causal:
                s = s.masked_fill(~torch.ones(L, S, dtype=torch.bool).tril(), float("-inf"))
            if attn_mask is not None:
                s = s.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else s + attn_mask
            p = torch.softmax(s, dim=-1)
            if dropout_p > 0:
                p = torch.dropout(p, dropout_p, True)
            return p @ v
        F.scaled_dot_product_attention = sdpa
    try:
        with torch.device("cpu"):
            pass
    except (AttributeError, TypeError):
        class TorchWithDeviceContext:
            """torch, except that torch.device(...) also works as a no-op context manager."""
            def __getattr__(self, name):
                return getattr(torch, name)

            @staticmethod
            def device(*a, **k):
                return contextlib.nullcontext(torch.device(*a, **k))
        gpt.torch = TorchWithDeviceContext()


def child_main(args):
    import torch
    torch.set_num_threads(args.threads)
    gpt = pc.import_reference_module(args.reference, MOD_GPT, REL_GPT)
    shim_torch2(torch, gpt)
    torch.manual_seed(0)
    name = args.only
    if name.startswith("arB_sample_b"):
        b = int(name[len("arB_sample_b"):])
        model = gpt.GPT(**B_CONFIG).eval()
        x = torch.cat([torch.arange(b) * 100, torch.full((b,), 1000)]).view(2 * b, 1)

        def fn():
            with torch.no_grad():
                return gpt.sample_Open_MAGVIT2(x, model, steps=POSITIONS, temperature=[1.0, 1.0],
                                               top_k=[0, 0], top_p=[1.0, 1.0], cfg_scale=[1.9, 2.0])
        pre, post = fn()
        assert pre.shape == (b, POSITIONS) and post.shape == (b, POSITIONS)
        assert int(pre.max()) < 64 and int(post.max()) < 4096
        times = pc.time_fn(fn, min_warm_runs=1, min_runs=3, min_s=0.0)
    else:
        model = gpt.GPT(**SMALL_CONFIG).train()
        decay = [p for p in model.parameters() if p.dim() >= 2]
        plain = [p for p in model.parameters() if p.dim() < 2]
        opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                                 {"params": plain, "weight_decay": 0.0}], lr=3e-4, betas=(0.9, 0.95))
        g = torch.Generator().manual_seed(6)
        pre = torch.randint(0, 64, (TRAIN_BATCH, 256), generator=g)
        post = torch.randint(0, 4096, (TRAIN_BATCH, 256), generator=g)
        cls = torch.randint(0, 1000, (TRAIN_BATCH, 1), generator=g)
        F = torch.nn.functional

        def fn():
            opt.zero_grad()
            logits, _ = model((pre, post, cls))
            loss = F.cross_entropy(logits[0].reshape(-1, 64), pre.reshape(-1)) + \
                F.cross_entropy(logits[1].reshape(-1, 4096), post.reshape(-1))
            loss.backward()
            opt.step()
            return loss
        assert torch.isfinite(fn())
        times = pc.time_fn(fn)
    print(json.dumps({"ms": statistics.median(times), "runs": len(times), "ms_min": min(times),
                      "ms_max": max(times), "params": sum(p.numel() for p in model.parameters()),
                      "torch": torch.__version__}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True, help="folder holding the Open-MAGVIT2 repository's src/ package")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default=None, help="NAME[,NAME] of: " + ",".join(WORKLOADS))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        return child_main(args)
    reference = os.path.abspath(args.reference)
    if not os.path.isfile(os.path.join(reference, REL_GPT)):
        raise SystemExit("--reference %s has no %s" % (reference, REL_GPT))
    names = WORKLOADS if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    for n in names:
        if n not in WORKLOADS:
            raise SystemExit("unknown workload %r; known: %s" % (n, ", ".join(WORKLOADS)))
    for name in names:
        best, medians = pc.time_policies(__file__, name, ["--_child", "--only", name], args.threads, reference, args.repeat)
        ms_p, ms_d = best["passive"]["ms"], best["default"]["ms"]
        rec = {"workload": name, "ms": min(ms_p, ms_d), "ms_passive": ms_p, "ms_default": ms_d,
               "faster": "passive" if ms_p <= ms_d else "default", "threads": args.threads,
               "torch": best["passive"]["torch"], "params": best["passive"]["params"]}
        if name.startswith("arB_sample_b"):
            b = int(name[len("arB_sample_b"):])
            rec["image_tokens_per_s"] = b * POSITIONS / (rec["ms"] * 1e-3)
        if args.repeat > 1:
            rec["repeat_medians_ms"] = medians
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
