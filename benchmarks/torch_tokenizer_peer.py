#!/usr/bin/python3
"""PyTorch CPU peer for magvit4j's tokenizer benchmarks: times the reference implementation's
OWN modules (Open-MAGVIT2's Encoder, Decoder and LFQ), imported from a checkout given on the
command line and never copied into this project.

Run with Debian's interpreter (python3-torch 1.13 + libopenblas0-pthread):

    /usr/bin/python3 benchmarks/torch_tokenizer_peer.py --reference DIR \
        [--threads N] [--only NAME[,NAME]] [--repeat N] [--manifests DIR]

DIR is a folder holding the repository's `src/` package, e.g. made outside the project with
    git --git-dir .../Open-MAGVIT2/repo archive HEAD src | tar -x -C /tmp/om2ref
The modules imported are src/Open_MAGVIT2/modules/diffusionmodules/improved_model.py
(Encoder, Decoder) and src/Open_MAGVIT2/modules/vqvae/lookup_free_quantize.py (LFQ). They
import `einops`, which is not installed: each child writes a small shim module into a temporary
directory put first on sys.path. The shim implements only the einops patterns those two files
use on the eval path (and the training entropy's mean), with einops' documented semantics, and
raises on any other pattern. The training step also imports vqperceptual.py (the GAN losses and
discriminator) and ema.py (LitEma).

Workloads: tok{128,256}_{encode,decode}_b{1,8} and tok128_train_b2. Released configs (ch=128,
num_res_blocks=4, z_channels=18, in/out channels 3; ch_mult [1,2,2,4] at 128 px, [1,1,2,2,4] at 256 px), random
weights (PyTorch's default init, seed 0), modules in eval() under torch.no_grad().
  encode: Encoder forward + LFQ forward (LFQ(dim=18, codebook_size=2**18,
          token_factorization=True, factorized_bits=[6,12])) on images [B,3,R,R] uniform in
          [-1,1]; returns the +-1 codes [B,18,16,16] and the (pre, post) indices.
  decode: Decoder forward from +-1 codes [B,18,16,16].
  train:  one step of the released recipe as the reference's VQModel.training_step runs it:
          Encoder, LFQ (training mode: entropy over all 2^18 codes, commitment), Decoder; the
          reference's VQLPIPSWithDiscriminator (src/Open_MAGVIT2/modules/losses/vqperceptual.py:
          hinge + LeCAM, non-saturating generator loss with gen_loss_weight 0.1, codebook weight
          0.1, commitment 0.25, no codebook enlargement, perceptual weight 0) with its
          NLayerDiscriminator; Adam (0.5, 0.9) on the generator and on the discriminator; LitEma
          (src/Open_MAGVIT2/modules/ema.py) of the generator (the reference's EMA also covers
          the discriminator's 2.8 M weights; both sides leave them out). LPIPS is off on both
          sides (it needs downloaded VGG16 weights): the reference's lpips module, which imports
          torchvision, is replaced by a stub whose forward raises. Each child also times the same step with the
          quantizer's entropy term off (return_loss=False), reported as "ms_no_entropy": the
          networks' share, since the reference's 2^18-way softmax dominates its step.

Every workload is timed in fresh child processes, once with OMP_WAIT_POLICY=PASSIVE and once
with the variable unset (the default policy); the variable must be set before torch is
imported, hence the children. One JSON object per workload per line goes to stdout
("ms" per batch is the faster of "ms_passive" and "ms_default"; "images_per_s" = B/ms); progress,
torch version and parameter counts go to stderr. With --repeat N each policy is timed in N
fresh children and the lowest median is kept.

Timing per workload and policy: warm up for at least 2 runs, then repeat until at least 5 runs
and 2 s have been timed, report the median (tok256_*_b8: 2 warm-up runs and at least 3 timed
runs, they are slow).
"""

import argparse
import atexit
import hashlib
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_common as pc  # noqa: E402
from peer_common import log, time_fn  # noqa: E402

CONFIGS = {
    128: dict(ch=128, ch_mult=[1, 2, 2, 4], num_res_blocks=4, z_channels=18, in_channels=3,
              out_ch=3, resolution=128, double_z=False),
    256: dict(ch=128, ch_mult=[1, 1, 2, 2, 4], num_res_blocks=4, z_channels=18, in_channels=3,
              out_ch=3, resolution=256, double_z=False),
}
LFQ_KW = dict(dim=18, codebook_size=2 ** 18, sample_minimization_weight=1.0,
              batch_maximization_weight=1.0, token_factorization=True, factorized_bits=[6, 12])
LATENT = 16  # both released models map their image size to a 16x16 latent

WORKLOADS = [
    "tok128_encode_b1",
    "tok128_encode_b8",
    "tok128_decode_b1",
    "tok128_decode_b8",
    "tok256_encode_b1",
    "tok256_encode_b8",
    "tok256_decode_b1",
    "tok256_decode_b8",
    "tok128_train_b2",
]
# The training step's settings (imagenet_lfqgan_128_L.yaml, except the perceptual weight).
LOSS_KW = dict(disc_start=0, codebook_weight=0.1, commit_weight=0.25, codebook_enlarge_ratio=0,
               gen_loss_weight=0.1, lecam_loss_weight=0.05, perceptual_weight=0.0,
               disc_num_layers=3, disc_ndf=64, disc_in_channels=3)

REL_MODEL = os.path.join("src", "Open_MAGVIT2", "modules", "diffusionmodules", "improved_model.py")
REL_LFQ = os.path.join("src", "Open_MAGVIT2", "modules", "vqvae", "lookup_free_quantize.py")
MOD_MODEL = "src.Open_MAGVIT2.modules.diffusionmodules.improved_model"
MOD_LFQ = "src.Open_MAGVIT2.modules.vqvae.lookup_free_quantize"
REL_LOSS = os.path.join("src", "Open_MAGVIT2", "modules", "losses", "vqperceptual.py")
REL_EMA = os.path.join("src", "Open_MAGVIT2", "modules", "ema.py")
MOD_LOSS = "src.Open_MAGVIT2.modules.losses.vqperceptual"
MOD_EMA = "src.Open_MAGVIT2.modules.ema"
MOD_LPIPS = "src.Open_MAGVIT2.modules.losses.lpips"


def parse_workload(name):
    """'tok256_encode_b8' -> (256, 'encode', 8)."""
    res, op, b = name.split("_")
    return int(res[3:]), op, int(b[1:])


# --------------------------------------------------------------------------------------------
# einops shim (written to a temp dir by each child, imported as `einops`)
# --------------------------------------------------------------------------------------------

EINOPS_SHIM = r'''
"""Minimal einops stand-in for magvit4j's torch_tokenizer_peer.py (NOT the real einops).

Implements only the patterns Open-MAGVIT2's improved_model.py and lookup_free_quantize.py use
on their eval path (and the training entropy's mean), with einops' documented semantics; any
other pattern raises."""

from functools import reduce as _freduce
import operator as _op

SHIM = True


def _norm(pattern):
    return " ".join(pattern.replace("->", " -> ").replace("(", " ( ").replace(")", " ) ")
                    .split()).replace("( ", "(").replace(" )", ")")


def _prod(xs):
    return _freduce(_op.mul, xs, 1)


def _check_axes(pattern, axes, allowed):
    extra = set(axes) - set(allowed)
    if extra:
        raise NotImplementedError("einops shim: axes %s not supported for %r" % (sorted(extra), pattern))


def rearrange(tensor, pattern, **axes):
    p = _norm(pattern)
    x = tensor
    if p == "b c h w -> b c (h w)":
        _check_axes(pattern, axes, "bchw")
        if x.dim() != 4:
            raise ValueError("einops shim: %r expects 4 dims, got %d" % (pattern, x.dim()))
        for k, v in axes.items():
            if x.shape["bchw".index(k)] != v:
                raise ValueError("einops shim: axis %s=%d does not match shape %s" % (k, v, tuple(x.shape)))
        b, c, h, w = x.shape
        return x.reshape(b, c, h * w)
    if p == "b d ... -> b ... d":
        _check_axes(pattern, axes, "bd")
        if x.dim() < 2:
            raise ValueError("einops shim: %r expects >= 2 dims" % pattern)
        return x.movedim(1, -1)
    if p == "b ... d -> b d ...":
        _check_axes(pattern, axes, "bd")
        if x.dim() < 2:
            raise ValueError("einops shim: %r expects >= 2 dims" % pattern)
        return x.movedim(-1, 1)
    if p == "b n (c d) -> b n c d":
        _check_axes(pattern, axes, "bncd")
        if x.dim() != 3:
            raise ValueError("einops shim: %r expects 3 dims, got %d" % (pattern, x.dim()))
        b, n, cd = x.shape
        if "c" in axes and "d" in axes:
            c, d = axes["c"], axes["d"]
        elif "c" in axes:
            c = axes["c"]
            if cd % c:
                raise ValueError("einops shim: %d not divisible by c=%d" % (cd, c))
            d = cd // c
        elif "d" in axes:
            d = axes["d"]
            if cd % d:
                raise ValueError("einops shim: %d not divisible by d=%d" % (cd, d))
            c = cd // d
        else:
            raise ValueError("einops shim: %r needs c or d" % pattern)
        if c * d != cd:
            raise ValueError("einops shim: c*d=%d != %d" % (c * d, cd))
        return x.reshape(b, n, c, d)
    if p == "b n c d -> b n (c d)":
        _check_axes(pattern, axes, "bncd")
        if x.dim() != 4:
            raise ValueError("einops shim: %r expects 4 dims, got %d" % (pattern, x.dim()))
        b, n, c, d = x.shape
        return x.reshape(b, n, c * d)
    raise NotImplementedError("einops shim: rearrange pattern %r not implemented" % pattern)


def reduce(tensor, pattern, reduction, **axes):
    p = _norm(pattern)
    if p == "... D -> D":
        if axes:
            raise NotImplementedError("einops shim: axes not supported for %r" % pattern)
        if reduction == "mean":
            return tensor.reshape(-1, tensor.shape[-1]).mean(0)
        raise NotImplementedError("einops shim: reduction %r not implemented" % (reduction,))
    if p == "b n c d -> b n c":
        _check_axes(pattern, axes, "bncd")
        if tensor.dim() != 4:
            raise ValueError("einops shim: %r expects 4 dims, got %d" % (pattern, tensor.dim()))
        if reduction == "sum":
            return tensor.sum(-1)
        raise NotImplementedError("einops shim: reduction %r not implemented" % (reduction,))
    raise NotImplementedError("einops shim: reduce pattern %r not implemented" % pattern)


_PACK_PATTERNS = ("b * d", "b * c")


def pack(tensors, pattern):
    """einops.pack for 'b * d' / 'b * c': flattens the axes matched by * (between the first
    and the last axis) and concatenates the inputs along that axis; returns (packed, shapes)."""
    import torch
    p = _norm(pattern)
    if p not in _PACK_PATTERNS:
        raise NotImplementedError("einops shim: pack pattern %r not implemented" % pattern)
    ps, flat = [], []
    for t in tensors:
        if t.dim() < 2:
            raise ValueError("einops shim: pack %r needs >= 2 dims" % pattern)
        mid = tuple(t.shape[1:-1])
        ps.append(mid)
        flat.append(t.reshape(t.shape[0], _prod(mid), t.shape[-1]))
    packed = flat[0] if len(flat) == 1 else torch.cat(flat, dim=1)
    return packed, ps


def unpack(tensor, packed_shapes, pattern):
    """einops.unpack for 'b * d' / 'b * c': splits axis 1 by the sizes of packed_shapes and
    restores each part's * axes."""
    p = _norm(pattern)
    if p not in _PACK_PATTERNS:
        raise NotImplementedError("einops shim: unpack pattern %r not implemented" % pattern)
    if tensor.dim() != 3:
        raise ValueError("einops shim: unpack %r expects 3 dims, got %d" % (pattern, tensor.dim()))
    sizes = [_prod(s) for s in packed_shapes]
    if sum(sizes) != tensor.shape[1]:
        raise ValueError("einops shim: packed shapes %s do not match axis of %d"
                         % (packed_shapes, tensor.shape[1]))
    out, start = [], 0
    for s, n in zip(packed_shapes, sizes):
        part = tensor.narrow(1, start, n)
        out.append(part.reshape(tensor.shape[0], *s, tensor.shape[-1]))
        start += n
    return out
'''


def install_einops_shim():
    d = tempfile.mkdtemp(prefix="einops_shim_")
    atexit.register(shutil.rmtree, d, True)
    with open(os.path.join(d, "einops.py"), "w") as f:
        f.write(EINOPS_SHIM)
    sys.path.insert(0, d)
    import einops  # noqa: F401
    assert getattr(einops, "SHIM", False), "a real einops was imported instead of the shim"
    return d


def check_einops_shim(torch):
    """Tiny element-level checks of the shim's semantics."""
    import einops
    x = torch.arange(2 * 3 * 4 * 5).float().view(2, 3, 4, 5)
    y = einops.rearrange(x, "b c h w -> b c (h w)")
    assert y.shape == (2, 3, 20) and y[1, 2, 5 * 1 + 3] == x[1, 2, 1, 3]
    y = einops.rearrange(x, "b d ... -> b ... d")
    assert y.shape == (2, 4, 5, 3) and y[1, 3, 4, 2] == x[1, 2, 3, 4]
    p, ps = einops.pack([y], "b * d")
    assert p.shape == (2, 20, 3) and ps == [(4, 5)] and p[1, 3 * 5 + 4, 2] == x[1, 2, 3, 4]
    q = einops.rearrange(p, "b n (c d) -> b n c d", c=1)
    assert q.shape == (2, 20, 1, 3) and q[1, 19, 0, 2] == p[1, 19, 2]
    assert torch.equal(einops.reduce(q, "b n c d -> b n c", "sum"), q.sum(-1))
    r = einops.rearrange(q, "b n c d -> b n (c d)")
    assert torch.equal(r, p)
    u = einops.unpack(r, ps, "b * d")[0]
    assert torch.equal(u, y)
    assert torch.equal(einops.rearrange(u, "b ... d -> b d ..."), x)
    assert torch.allclose(einops.reduce(x, "... D -> D", "mean"), x.mean((0, 1, 2)))
    for bad in (lambda: einops.rearrange(x, "b c h w -> b h w c"),
                lambda: einops.reduce(q, "b n c d -> b n c", "mean"),
                lambda: einops.pack([x], "b d *")):
        try:
            bad()
        except NotImplementedError:
            pass
        else:
            raise AssertionError("einops shim accepted an unimplemented pattern")


# --------------------------------------------------------------------------------------------
# Child side (torch imported here only, after the environment has been fixed by the parent)
# --------------------------------------------------------------------------------------------

def load_reference(reference):
    """Imports the reference's improved_model and lookup_free_quantize modules from DIR/src."""
    ref = os.path.abspath(reference)
    install_einops_shim()
    mods = {name: pc.import_reference_module(ref, name, rel) for name, rel in ((MOD_MODEL, REL_MODEL), (MOD_LFQ, REL_LFQ))}
    return mods[MOD_MODEL], mods[MOD_LFQ]


def load_training(torch, reference):
    """The reference's loss module (discriminator and GAN losses) and LitEma. Its LPIPS import
    (torchvision, downloaded VGG16 weights) is replaced by a stub: perceptual weight 0 never calls it."""
    import types
    stub = types.ModuleType(MOD_LPIPS)

    class LPIPS(torch.nn.Module):
        def forward(self, *a):
            raise RuntimeError("LPIPS stub called: the benchmark runs with perceptual weight 0")
    stub.LPIPS = LPIPS
    sys.modules[MOD_LPIPS] = stub
    ref = os.path.abspath(reference)
    return (pc.import_reference_module(ref, MOD_LOSS, REL_LOSS),
            pc.import_reference_module(ref, MOD_EMA, REL_EMA))


def train_step_fn(torch, improved_model, lfq_mod, reference, res, b):
    """One training step of VQModel.training_step (generator, then discriminator) and the EMA
    update of on_train_batch_end, on a fixed batch; entropy=False drops the quantizer's entropy term."""
    loss_mod, ema_mod = load_training(torch, reference)
    torch.manual_seed(0)
    cfg = CONFIGS[res]
    enc, dec = improved_model.Encoder(**cfg).train(), improved_model.Decoder(**cfg).train()
    lfq = lfq_mod.LFQ(**LFQ_KW).train()
    loss = loss_mod.VQLPIPSWithDiscriminator(**LOSS_KW).train()
    gen = torch.nn.ModuleList([enc, dec, lfq])
    ema = ema_mod.LitEma(gen)
    opt_gen = torch.optim.Adam(gen.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_disc = torch.optim.Adam(loss.discriminator.parameters(), lr=1e-4, betas=(0.5, 0.9))
    x = torch.rand(b, 3, res, res, generator=torch.Generator().manual_seed(1234)) * 2 - 1
    step = [0]

    def fn(entropy=True):
        (quant, eloss, _), breakdown = lfq(enc(x), return_loss_breakdown=True, return_loss=entropy)
        xrec = dec(quant)
        aeloss, _ = loss(eloss, breakdown, x, xrec, 0, step[0], split="train")
        opt_gen.zero_grad()
        aeloss.backward()
        opt_gen.step()
        discloss, _ = loss(eloss, breakdown, x, xrec, 1, step[0], split="train")
        opt_disc.zero_grad()
        discloss.backward()
        opt_disc.step()
        ema(gen)
        step[0] += 1
        assert torch.isfinite(aeloss) and torch.isfinite(discloss)
        return aeloss
    return fn, n_params(gen)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


def build(torch, improved_model, lfq_mod, res, op):
    torch.manual_seed(0)
    cfg = CONFIGS[res]
    if op == "encode":
        return (improved_model.Encoder(**cfg).eval(), lfq_mod.LFQ(**LFQ_KW).eval())
    return (improved_model.Decoder(**cfg).eval(),)


def check_encode_output(torch, z, out, b):
    """quantized = sign(z) (0 -> -1); pre/post = bits 0-5 / 6-17 of the token, LSB first."""
    q, _loss, (pre, post) = out
    assert q.shape == (b, 18, LATENT, LATENT), q.shape
    assert torch.equal(q, torch.where(z > 0, 1.0, -1.0))
    bits = (z > 0).long().permute(0, 2, 3, 1).reshape(-1, 18)
    w = 2 ** torch.arange(18)
    assert torch.equal(pre, (bits[:, :6] * w[:6]).sum(-1))
    assert torch.equal(post, (bits[:, 6:] * w[:12]).sum(-1))
    assert pre.shape == (b * LATENT * LATENT,) and int(pre.max()) < 64 and int(post.max()) < 4096


def child_main(args):
    import torch
    torch.set_num_threads(args.threads)
    improved_model, lfq_mod = load_reference(args.reference)
    check_einops_shim(torch)
    res, op, b = parse_workload(args.only)
    g = torch.Generator().manual_seed(1234)
    extra = {}
    if op == "train":
        fn, params = train_step_fn(torch, improved_model, lfq_mod, args.reference, res, b)
        no_entropy = time_fn(lambda: fn(entropy=False), min_warm_runs=1, min_runs=3, min_s=0.0)
        extra = {"ms_no_entropy": statistics.median(no_entropy)}
    elif op == "encode":
        mods = build(torch, improved_model, lfq_mod, res, op)
        enc, lfq = mods
        x = torch.rand(b, 3, res, res, generator=g) * 2 - 1

        def fn():
            with torch.no_grad():
                return lfq(enc(x))
        with torch.no_grad():
            z = enc(x)
            check_encode_output(torch, z, lfq(z), b)
        params = n_params(enc)
    else:
        (dec,) = build(torch, improved_model, lfq_mod, res, op)
        codes = torch.randint(0, 2, (b, 18, LATENT, LATENT), generator=g).float() * 2 - 1

        def fn():
            with torch.no_grad():
                return dec(codes)
        with torch.no_grad():
            y = dec(codes)
        assert y.shape == (b, 3, res, res) and torch.isfinite(y).all()
        params = n_params(dec)
    if (res == 256 and b == 8) or op == "train":
        time_kw = dict(min_warm_runs=2, min_runs=3, min_s=0.0)
    else:
        time_kw = {}
    times = time_fn(fn, **time_kw)
    out = {"ms": statistics.median(times), "runs": len(times),
           "ms_min": min(times), "ms_max": max(times), "params": params,
           "torch_threads": torch.get_num_threads(), **extra}
    print(json.dumps(out), flush=True)


def info_main(args):
    """torch version, parameter counts of all four modules, names/shapes vs. the manifests."""
    import torch
    torch.set_num_threads(args.threads)
    improved_model, lfq_mod = load_reference(args.reference)
    check_einops_shim(torch)
    out = {"torch": torch.__version__, "counts": {}, "manifest_check": {}}
    for res in (128, 256):
        enc = build(torch, improved_model, lfq_mod, res, "encode")
        dec = build(torch, improved_model, lfq_mod, res, "decode")[0]
        counts = {"encoder": n_params(enc[0]), "decoder": n_params(dec),
                  "lfq": n_params(enc[1])}
        out["counts"][str(res)] = counts
        mf = os.path.join(args.manifests, "tokenizer_%d_L.json" % res) if args.manifests else None
        if mf and os.path.isfile(mf):
            with open(mf) as f:
                m = json.load(f)
            shapes = {}
            for pre, mod in (("encoder.", enc[0]), ("decoder.", dec)):
                for k, v in mod.state_dict().items():
                    shapes[pre + k] = list(v.shape)
            want = {k: v for k, v in m["parameters"].items()
                    if k.startswith(("encoder.", "decoder."))}
            ok_counts = all(m["counts"][k] == counts[k] for k in ("encoder", "decoder"))
            ok_shapes = shapes == want
            out["manifest_check"][str(res)] = {
                "file": mf, "counts_match": ok_counts, "names_shapes_match": ok_shapes,
                "manifest_counts": m["counts"]}
            if not ok_shapes:
                out["manifest_check"][str(res)]["diff"] = sorted(
                    k for k in set(shapes) | set(want) if shapes.get(k) != want.get(k))[:20]
    print(json.dumps(out), flush=True)


# --------------------------------------------------------------------------------------------
# Parent side (never imports torch)
# --------------------------------------------------------------------------------------------

def file_sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", required=True,
                    help="folder holding the Open-MAGVIT2 repository's src/ package")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default=None, help="NAME[,NAME] of: " + ",".join(WORKLOADS))
    ap.add_argument("--repeat", type=int, default=1,
                    help="time each policy in N fresh children, keep the lowest median "
                         "(for a machine shared with other work)")
    ap.add_argument("--manifests", default="/work/shared/manifests",
                    help="folder with tokenizer_{128,256}_L.json to check parameter counts, "
                         "names and shapes against ('' to skip)")
    ap.add_argument("--_child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--_info", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        return child_main(args)
    if args._info:
        return info_main(args)

    reference = os.path.abspath(args.reference)
    for rel in (REL_MODEL, REL_LFQ):
        if not os.path.isfile(os.path.join(reference, rel)):
            raise SystemExit("--reference %s has no %s" % (reference, rel))
    names = WORKLOADS if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    for n in names:
        if n not in WORKLOADS:
            raise SystemExit("unknown workload %r; known: %s" % (n, ", ".join(WORKLOADS)))

    info_args = ["--_info", "--manifests", args.manifests]
    rc, info = pc.run_child(__file__, info_args, "passive", args.threads, reference)
    if rc != 0 or info is None:
        raise SystemExit("building the reference modules failed with exit code %s" % rc)
    version = info["torch"]
    log("torch %s, %d thread(s), reference %s" % (version, args.threads, reference))
    for res in ("128", "256"):
        c = info["counts"][res]
        mc = info["manifest_check"].get(res)
        log("  %s px config: encoder %s params, decoder %s params, LFQ %d params%s" % (
            res, format(c["encoder"], ","), format(c["decoder"], ","), c["lfq"],
            "" if mc is None else "; manifest %s: counts %s, names/shapes %s" % (
                os.path.basename(mc["file"]), "match" if mc["counts_match"] else "DIFFER",
                "match" if mc["names_shapes_match"] else "DIFFER")))
        if mc is not None and not (mc["counts_match"] and mc["names_shapes_match"]):
            raise SystemExit("reference modules do not match %s: %s" % (mc["file"], mc))
    sources = {rel: file_sha256(os.path.join(reference, rel)) for rel in (REL_MODEL, REL_LFQ, REL_LOSS, REL_EMA)}
    log("workloads: %s" % ", ".join(names))

    for name in names:
        res, op, b = parse_workload(name)
        rec = {"workload": name}
        child_args = ["--_child", "--only", name]
        best, medians = pc.time_policies(__file__, name, child_args, args.threads, reference, args.repeat)
        ms_p = best["passive"]["ms"]
        ms_d = best["default"]["ms"]
        rec["ms"] = min(ms_p, ms_d)
        rec["ms_passive"] = ms_p
        rec["ms_default"] = ms_d
        rec["faster"] = "passive" if ms_p <= ms_d else "default"
        if op == "train":
            rec["ms_no_entropy"] = best[rec["faster"]]["ms_no_entropy"]
        rec["images_per_s"] = b / (rec["ms"] * 1e-3)
        rec["batch"] = b
        rec["threads"] = args.threads
        rec["torch"] = version
        counts = info["counts"][str(res)]
        extra = {
            "config": CONFIGS[res],
            "input": ("images [%d,3,%d,%d] uniform in [-1,1]" % (b, res, res)) if op != "decode"
                     else "+-1 codes [%d,18,%d,%d]" % (b, LATENT, LATENT),
            "what": {"encode": "Encoder + LFQ%s forward, eval, no_grad; returns codes and (pre, post) "
                               "indices" % json.dumps(LFQ_KW),
                     "decode": "Decoder forward, eval, no_grad",
                     "train": "training step: generator (Encoder, LFQ, Decoder; VQLPIPSWithDiscriminator%s) "
                              "and discriminator, Adam (0.5, 0.9), LitEma" % json.dumps(LOSS_KW)}[op],
            "params": {"encoder": counts["encoder"], "decoder": counts["decoder"]},
            "params_timed_module": best["passive"]["params"],
            "runs": {p: best[p]["runs"] for p in best},
            "ms_min": {p: best[p]["ms_min"] for p in best},
            "ms_max": {p: best[p]["ms_max"] for p in best},
            "reference": reference,
            "reference_sha256": sources,
            "einops": "shim (patterns of the eval path and the entropy's reduce only)",
        }
        if args.repeat > 1:
            extra["repeat_medians_ms"] = medians
        rec["extra"] = extra
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
