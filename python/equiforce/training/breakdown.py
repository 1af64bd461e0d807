"""Where a trained model's errors are: test-split metrics of a checkpoint broken down by frame kind and,
for ``mol``, by electronic state (neutral closed-shell, ions, open-shell).

    python -m equiforce.training.breakdown --run ../data/runs/equiforce-small [--split test] [--out FILE.md]

``--split train --max-frames N`` scores a seeded sample of the training frames: next to the test
figures it tells whether a model is short of capacity (training error as high as the test error) or
of data (training error well below it).

Uses the checkpoint's EMA weights (what ``--export`` ships), on the same graphs as the trainer.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict

import numpy as np
import torch

from ..data import splits as splits_mod
from ..data.graph import build_graphs, collate
from ..data.store import FrameSet
from ..threads import limit_threads
from .core import TaskStats, predict_batch

TASKS = ["mol", "metal"]


def state_of(charge: int, spin: int) -> str:
    """Electronic-state class of a `mol` frame (spin is the multiplicity 2S+1)."""
    if spin > 1:
        return "open-shell" + (" ion" if charge else "")
    return "ion (closed-shell)" if charge else "neutral closed-shell"


def sample_frames(idx: np.ndarray, max_frames: int, seed: int = 0) -> np.ndarray:
    """At most ``max_frames`` of ``idx`` (all when 0), a seeded sample kept in ascending order."""
    if max_frames < 0:
        raise ValueError(f"--max-frames must be 0 (all) or positive, got {max_frames}")
    idx = np.asarray(idx)
    if max_frames == 0 or len(idx) <= max_frames:
        return idx
    return np.sort(np.random.default_rng(seed).choice(idx, size=max_frames, replace=False))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True, help="run folder with checkpoint.pt")
    ap.add_argument("--data", default="../data")
    ap.add_argument("--split", default="test", choices=["train", "val", "test"])
    ap.add_argument("--max-frames", type=int, default=0,
                    help="score a seeded random sample of at most this many frames per task (0 = all)")
    ap.add_argument("--out", help="also write the markdown table here")
    args = ap.parse_args(argv)
    limit_threads(1)
    from ..train import build_model

    ck = torch.load(os.path.join(args.run, "checkpoint.pt"))
    model = build_model(ck["kwargs"], 0)
    model.load_state_dict(ck["ema"] if ck.get("ema") is not None else ck["model"])
    model.backbone.refresh_couplings()
    model.eval()
    stats = {int(t): TaskStats.from_dict(d) for t, d in ck["stats"].items()}
    split = splits_mod.load(os.path.join(args.data, "splits.json"))
    mol_all = FrameSet.load(os.path.join(args.data, "mol.npz"))
    train_idx = splits_mod.frame_indices(mol_all.group_names(), split["mol"])["train"]
    trained_charges = {int(c) for c in mol_all.a["charge"][train_idx]}
    rows = defaultdict(lambda: {"frames": 0, "atoms": 0, "e": 0.0, "f": 0.0, "f0": 0.0, "comps": 0})
    for t, name in enumerate(TASKS):
        fs = mol_all if name == "mol" else FrameSet.load(os.path.join(args.data, f"{name}.npz"))
        idx = sample_frames(splits_mod.frame_indices(fs.group_names(), split[name])[args.split], args.max_frames)
        graphs = build_graphs(fs, ck["kwargs"]["cutoff"], t, idx)
        for k in range(0, len(graphs), 32):
            part = graphs[k:k + 32]
            batch = collate(part)
            pred = predict_batch(model, batch, stats)
            f_pred = pred["forces"].detach().double().numpy()
            e_pred = pred["energy"].detach().numpy()
            start = 0
            for b, (g, i) in enumerate(zip(part, idx[k:k + 32])):
                n = len(g.numbers)
                fr = fs.frame(i)
                keys = [f"{name} · all", f"{name} · kind {fr.kind}"]
                if name == "mol":
                    keys += [f"mol · {state_of(fr.charge, fr.spin)}", f"mol · charge {fr.charge:+d}"]
                    if fr.charge in trained_charges:
                        keys.append("mol · charges seen in training")
                df = np.abs(f_pred[start:start + n] - g.forces)
                for key in keys:
                    r = rows[key]
                    r["frames"] += 1
                    r["atoms"] += n
                    r["e"] += abs(e_pred[b] - g.energy) / n
                    r["f"] += df.sum()
                    r["f0"] += np.abs(g.forces).sum()
                    r["comps"] += 3 * n
                start += n
            print(f"\r{name}: {min(k + 32, len(graphs))}/{len(graphs)}", end="", file=sys.stderr, flush=True)
        print(file=sys.stderr)
    label = args.split if not args.max_frames else f"{args.split} (sample of ≤ {args.max_frames} per task)"
    lines = [f"| {label} subset | frames | atoms | energy MAE (meV/atom) | force MAE (meV/Å) | zero-force baseline (meV/Å) |",
             "|---|---|---|---|---|---|"]
    for key in sorted(rows, key=lambda s: (s.split(" · ")[0] != "mol", " · all" not in s, s)):
        r = rows[key]
        lines.append(f"| {key} | {r['frames']} | {r['atoms']} | {1000 * r['e'] / r['frames']:.1f} | "
                     f"{1000 * r['f'] / r['comps']:.1f} | {1000 * r['f0'] / r['comps']:.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
