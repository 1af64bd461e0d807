"""Train equiforce's own eSEN/UMA-style model on the ``mol`` (GFN2-xTB) and ``metal`` (EMT) data.

Run from ``python/`` (see docs/training.md)::

    /usr/bin/python3 -m equiforce.train --run ../data/runs/small --hours 2.5 --export ../models/equiforce-small
    /usr/bin/python3 -m equiforce.train --run ../data/runs/small --resume --hours 2.5      # continue a run
    /usr/bin/python3 -m equiforce.train --measure                                     # time one step per size
    /usr/bin/python3 -m equiforce.train --run ../data/runs/ft --init-from ../data/runs/small/checkpoint.pt \
        --procs 2 --threads 1 --hours 2 --lr 1e-3                                      # fine-tune on 2 processes

The model is the port's dense backbone (``UMAModel``) with UMA's dataset embedding for the tasks
``['mol', 'metal']`` and charge/spin embeddings; per-task element references (least squares on the
training set) and energy scale (RMS training force) are written to model.json by the converter.
Checkpoints (``<run>/checkpoint.pt``) hold model, EMA, optimiser, step, elapsed time and RNG states;
``--hours`` is a wall-clock budget over all resumed parts together and drives the cosine schedule.
``--init-from`` starts a new run (fresh optimiser and schedule) from another run's averaged (EMA) weights
and task statistics; ``--procs`` trains data-parallel on that many processes (training/parallel.py).
Ctrl-C or ``kill`` stops a run at the next step with a checkpoint to ``--resume`` from (training/stop.py).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import sys
import time
from typing import Optional

import numpy as np
import torch

from .data import splits as splits_mod
from .data.graph import batches_by_edges, batches_mixed, build_graphs, collate
from .data.store import FrameSet
from .threads import limit_threads
from .training.breakdown import state_of
from .training.core import EMA, TaskStats, evaluate_sets, loss_terms, predict_batch, task_stats
from .training.parallel import Group
from .training.parallel import run as run_parallel
from .training.stop import StopRequest

TASKS = ["mol", "metal"]


def backbone_kwargs(args) -> dict:
    """fairchem eSCNMDBackbone constructor kwargs of the model to train."""
    return dict(
        max_num_elements=100, sphere_channels=args.channels, lmax=args.lmax, mmax=args.mmax,
        num_layers=args.layers, hidden_channels=args.hidden or args.channels, edge_channels=args.edge_channels,
        num_distance_basis=args.num_basis, cutoff=args.cutoff, max_neighbors=300, norm_type="rms_norm_sh",
        act_type="gate", ff_type="spectral", chg_spin_emb_type="pos_emb", use_dataset_embedding=True,
        dataset_list=list(TASKS), distance_function="gaussian", num_experts=0, direct_forces=False,
        regress_stress=True,
    )


def build_model(kwargs: dict, seed: int):
    from .fairchem_config import parse_config
    from .model import UMAModel

    torch.manual_seed(seed)
    model = UMAModel(parse_config(kwargs)).float()
    model.backbone.refresh_couplings()
    return model


def load_data(data_dir: str, cutoff: float, max_train: dict, seed: int, log=sys.stderr) -> dict:
    """{split: [graphs]} over both tasks (task index per graph), subsampling training frames if asked."""
    split = splits_mod.load(os.path.join(data_dir, "splits.json"))
    out = {"train": [], "val": [], "test": []}
    rng = np.random.default_rng(seed)
    for t, name in enumerate(TASKS):
        fs = FrameSet.load(os.path.join(data_dir, f"{name}.npz"))
        idx = splits_mod.frame_indices(fs.group_names(), split[name])
        for s in out:
            sel = idx[s]
            if s == "train" and max_train.get(name) and len(sel) > max_train[name]:
                sel = np.sort(rng.choice(sel, size=max_train[name], replace=False))
            t0 = time.time()
            out[s] += build_graphs(fs, cutoff, t, sel)
            print(f"  {name}/{s}: {len(sel)} frames ({time.time() - t0:.1f} s to build graphs)", file=log, flush=True)
    return out


class Progress:
    """One-line progress bar on stderr (no tqdm on this system)."""

    def __init__(self, budget_s: float, stream=sys.stderr) -> None:
        self.budget_s, self.stream, self.last = budget_s, stream, 0.0

    def show(self, elapsed: float, text: str, force: bool = False) -> None:
        now = time.time()
        if not force and now - self.last < 1.0:
            return
        self.last = now
        frac = min(1.0, elapsed / self.budget_s) if self.budget_s > 0 else 0.0
        bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
        self.stream.write(f"\r[{bar}] {100 * frac:5.1f}% {elapsed / 60:6.1f}/{self.budget_s / 60:.0f} min {text}   ")
        self.stream.flush()


def training_pool(train: list, repeat_states: int) -> list:
    """The frames batches are drawn from: every training frame once, and the frames of ions and radicals
    ``repeat_states`` times in all (the minority of the ``mol`` frames, and 2-7x worse than closed-shell
    neutral molecules in stage 3, docs/training.md section 8)."""
    mol = TASKS.index("mol")
    extra = [g for g in train if g.task == mol and state_of(int(g.charge), int(g.spin)) != "neutral closed-shell"]
    extra *= max(0, repeat_states - 1)
    return list(train) + extra


def lr_at(args, step: int, elapsed: float, plateau_factor: float) -> float:
    warm = min(1.0, (step + 1) / max(args.warmup_steps, 1))
    if args.schedule == "cosine":
        frac = min(1.0, elapsed / (args.hours * 3600.0))
        base = args.min_lr + 0.5 * (args.lr - args.min_lr) * (1 + math.cos(math.pi * frac))
    else:
        base = max(args.min_lr, args.lr * plateau_factor)
    return base * warm


def save_checkpoint(path: str, state: dict) -> None:
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def metrics_table(results: dict) -> str:
    lines = ["| set | task | frames | atoms | energy MAE (meV/atom) | refs-only energy MAE (meV/atom) | force MAE (meV/Å) | "
             "zero-force baseline mean abs F (meV/Å) | stress MAE (meV/Å³) | zero-stress baseline (meV/Å³) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for s, per_task in results.items():
        for task, r in per_task.items():
            st = f"{r['stress']:.3f}" if "stress" in r else "–"
            sz = f"{r['stress_zero']:.3f}" if "stress_zero" in r else "–"
            lines.append(f"| {s} | {task} | {r['frames']} | {r['atoms']} | {r['energy']:.2f} | "
                         f"{r['energy_refs_only']:.1f} | {r['forces']:.1f} | {r['forces_zero']:.1f} | {st} | {sz} |")
    return "\n".join(lines)


def trained_ranges(graphs: list) -> dict:
    """The total charges and spin multiplicities the ``mol`` training frames cover (model.json
    ``charge_range`` / ``spin_range``): the calculator then refuses states the model never saw (e.g. a
    dianion when training had charges -1..+1) instead of returning a silently wrong energy."""
    mol = [g for g in graphs if TASKS[g.task] == "mol"]
    if not mol:
        return {}
    charges = [int(g.charge) for g in mol]
    spins = [int(g.spin) for g in mol]
    return {"charge_range": [min(charges), max(charges)], "spin_range": [max(1, min(spins)), max(spins)]}


def averaged_weights(checkpoint: dict) -> dict:
    """A run checkpoint's EMA weights (its raw weights when it kept no EMA)."""
    return checkpoint["ema"] if checkpoint.get("ema") is not None else checkpoint["model"]


def load_averaged_weights(model, checkpoint: dict) -> None:
    """Loads :func:`averaged_weights` of a run checkpoint into ``model``."""
    model.load_state_dict(averaged_weights(checkpoint))
    model.backbone.refresh_couplings()


def export_state_dict(model, kwargs: dict) -> dict:
    """The converter's float64 state dict (fairchem key names) of a trained model."""
    from .checkpoint import normalize_state_dict
    from .model.jd import generate_jd

    sd = normalize_state_dict({k: v.detach().double() for k, v in model.state_dict().items()})
    for l, J in enumerate(generate_jd(kwargs["lmax"])):  # exact J (the float32 buffers are rounded)
        sd[f"Jd_{l}"] = np.asarray(J, dtype=np.float64)
    return sd


def export(model, kwargs: dict, stats: dict, out_dir: str, name: str, note: str = "",
           ranges: Optional[dict] = None) -> None:
    """model.onnx + model.json (float32) in ``out_dir`` and the float64 export in ``out_dir/float64``;
    ``ranges`` (from :func:`trained_ranges`) overrides the converter's charge/spin ranges."""
    from .convert import DEFAULT_LARGE_GRAPH_CHUNKS, convert

    sd = export_state_dict(model, kwargs)
    normalizers = {stats[t].name: (stats[t].scale, 0.0) for t in stats}
    references = {stats[t].name: [float(v) for v in stats[t].refs] for t in stats}
    elements = sorted({z for t in stats for z in np.nonzero(stats[t].refs)[0].tolist()})
    for dtype, d in (("float32", out_dir), ("float64", os.path.join(out_dir, "float64"))):
        meta = convert(sd, kwargs, d, dtype=dtype, normalizers=normalizers, references=references,
                       source=f"equiforce.train ({note})" if note else "equiforce.train", name=name,
                       large_graph_chunks=DEFAULT_LARGE_GRAPH_CHUNKS)
        meta["supported_elements"] = elements  # only what the training data covers
        meta.update(ranges or {})
        with open(os.path.join(d, "model.json"), "w") as f:
            json.dump(meta, f, indent=1)
            f.write("\n")


TARGETS = {"mol": {"forces": 60.0, "energy": 5.0}, "metal": {"forces": 25.0, "energy": 5.0}}


def model_card(name: str, summary: dict, data_dir: str) -> str:
    """MODEL_CARD.md text: provenance, data sizes, architecture, training, test metrics vs targets."""
    res = summary["results"]
    split_path = os.path.join(data_dir, "splits.json")
    sizes = splits_mod.load(split_path).get("sizes", {}) if os.path.exists(split_path) else {}
    kw = summary["kwargs"]
    lines = [f"# {name}", "",
             "An eSEN/UMA-style interatomic potential trained by equiforce (`python -m equiforce.train`) on data "
             "generated in this repository; it runs through the same ONNX code path as converted UMA checkpoints.", "",
             "## Tasks", "",
             "- `mol`: organic molecules with H, C, N, O, F, S, Cl (≤ 30 atoms), neutral, cations, anions and radicals "
             "(pass total `charge` and spin multiplicity `spin` = 2S+1). Reference: GFN2-xTB (xtb 6.5.1), energies "
             "eV, forces eV/Å. Geometries: RDKit ETKDG conformers, GFN2-xTB optima with noise, distorted geometries, "
             "GFN2-xTB and GFN-FF MD at 300–1000 K (`python/equiforce/data/molgen.py`).",
             "- `metal`: fcc Al, Cu, Ag, Au, Ni, Pd, Pt and their random binary/ternary alloys; bulk, vacancies, "
             "strained cells, slabs, Langevin MD up to 1,500 K. Reference: ASE's EMT (energies, forces, stress) "
             "(`python/equiforce/data/metalgen.py`). Use charge 0, spin 0.", "",
             "These are cheap reference methods: the model reproduces GFN2-xTB and EMT, not experiment or DFT.", "",
             "## Data and splits", "",
             "Splits are by molecule (canonical SMILES) and by alloy composition; test molecules and test "
             "compositions never appear in training (pure elements are always in training).", "",
             "| task | split | groups | frames | atoms |", "|---|---|---|---|---|"]
    for task, per in sizes.items():
        for s, v in per.items():
            lines.append(f"| {task} | {s} | {v['groups']} | {v['frames']} | {v['atoms']} |")
    lines += ["", f"Frames used for training: {summary['train_frames']}.", "",
              "## Architecture", "",
              f"Dense eSCNMDBackbone: sphere channels {kw['sphere_channels']}, lmax {kw['lmax']}, mmax {kw['mmax']}, "
              f"{kw['num_layers']} layers, hidden {kw['hidden_channels']}, edge channels {kw['edge_channels']}, "
              f"{kw['num_distance_basis']} Gaussians, cutoff {kw['cutoff']} Å, rms_norm_sh, gate activation, spectral "
              f"feed-forward, positional charge/spin embeddings, dataset embedding for tasks {kw['dataset_list']}; "
              f"{summary['parameters']} parameters. Per-task element references (least squares on the training set) "
              "and energy scale (training RMS force) are in `model.json`.", "",
              "## Training", "",
              (f"Fine-tuned from the averaged (EMA) weights of `{summary['args']['init_from']}`"
               + (" grown to this size (`training/grow.py`)" if summary["args"].get("grow_channels")
                  or summary["args"].get("grow_layers") else "") + ": "
               if summary["args"].get("init_from") else "")
              + f"{summary['steps']} optimiser steps ({summary['epochs']} full epochs) in {summary['minutes']:.0f} min on "
              f"{summary['args'].get('procs', 1)} data-parallel process(es) × {summary['args']['threads']} CPU thread(s) "
              f"(PyTorch 1.13; each process takes its own batch of ≤ {summary['args']['batch_edges']} edges), AdamW, "
              f"learning rate {summary['args']['lr']} → {summary['args']['min_lr']} ({summary['args']['schedule']}), "
              f"EMA {summary['args']['ema']}. Log: `training_log.md`, `train_log.csv`.", "",
              "## Test-set metrics", "", metrics_table({"test": res["test"]}), "",
              "Validation:", "", metrics_table({"val": res["val"]}), "",
              "Targets (issue): force MAE ≤ 60 meV/Å (`mol`), ≤ 25 meV/Å (`metal`), energy MAE ≤ 5 meV/atom.", ""]
    met = []
    for task, t in TARGETS.items():
        r = res["test"].get(task, {})
        ok = r and r["forces"] <= t["forces"] and r["energy"] <= t["energy"]
        met.append(f"- `{task}`: {'meets' if ok else 'does NOT meet'} the targets "
                   f"(force {r.get('forces', float('nan')):.1f} meV/Å, energy {r.get('energy', float('nan')):.2f} meV/atom).")
    lines += met + ["", "## Files", "", "- `model.onnx`, `model.json`: float32", "- `float64/model.onnx`, "
                    "`float64/model.json`: float64 (for MD with tight energy conservation)", ""]
    return "\n".join(lines)


def check_frames(model, graphs: list, stats: dict, per_task: int = 3) -> list:
    """A few frames with the PyTorch (float64) predictions, for checking the ONNX export from another
    runtime (``python/scripts/check_model_node.ts``)."""
    import copy as _copy

    m64 = _copy.deepcopy(model).double()
    m64.backbone.refresh_couplings()
    out = []
    for t in range(len(TASKS)):
        for g in [g for g in graphs if g.task == t][:per_task]:
            batch = collate([g], torch.float64)
            pred = predict_batch(m64, batch, stats)
            out.append({"task": TASKS[t], "numbers": g.numbers.tolist(), "positions": g.positions.reshape(-1).tolist(),
                        "cell": g.cell.reshape(-1).tolist(), "pbc": bool(g.periodic), "charge": g.charge, "spin": g.spin,
                        "energy_label": g.energy, "energy": float(pred["energy"][0]),
                        "forces": pred["forces"].detach().reshape(-1).tolist(),
                        "stress": pred["stress"][0].detach().reshape(-1).tolist() if "stress" in pred else None})
    return out


ARCHITECTURE_ARGS = ("channels", "lmax", "mmax", "layers", "hidden", "edge_channels", "num_basis", "cutoff")
# Options that shape a run's schedule and loss: a resumed run keeps its own unless the command line names them
# (so that `--resume --export DIR` of a finished run exports it instead of training on with default options).
SCHEDULE_ARGS = ("hours", "max_steps", "lr", "min_lr", "schedule", "warmup_steps", "weight_decay", "clip", "ema",
                 "batch_edges", "loss", "w_energy", "w_forces", "w_stress", "mix_tasks")
# The log's rhythm and validation sample follow the same rule, so that the validation figures of a resumed run stay
# comparable with its earlier ones (a different --val-frames would measure another sample).
LOGGING_ARGS = ("log_every", "val_minutes", "val_frames", "eval_edges", "checkpoint_minutes")


def explicit_options(argv: Optional[list]) -> set:
    """Names (argparse dests) of the options given on the command line ``argv``."""
    probe = parser()
    for action in probe._actions:
        action.default = argparse.SUPPRESS
    return set(vars(probe.parse_args(argv)))


def train(args, group: Group = Group()) -> Optional[dict]:
    """One training run (on every rank of ``group``); returns the summary on rank 0."""
    limit_threads(args.threads)
    main_rank = group.main
    os.makedirs(args.run, exist_ok=True)
    ckpt_path = os.path.join(args.run, "checkpoint.pt")
    log = sys.stderr if main_rank else open(os.devnull, "w")
    resume = init = None
    if args.resume:
        if not os.path.exists(ckpt_path):
            raise FileNotFoundError(f"--resume: no checkpoint at {ckpt_path}")
        resume = torch.load(ckpt_path)
        saved = resume["args"]
        for k in ARCHITECTURE_ARGS + ("seed", "max_train_mol", "max_train_metal", "init_from", "grow_channels",
                                      "grow_layers", "oversample_open_shell",
                                      "mol_edge_share"):
            # the architecture and data of a run are fixed at its start (options newer than the checkpoint: defaults)
            setattr(args, k, saved.get(k, parser().get_default(k)))
        # args.explicit: set by main() from the command line (a caller of train() passes every option itself)
        kept = [k for k in SCHEDULE_ARGS + LOGGING_ARGS
                if hasattr(args, "explicit") and k in saved and k not in args.explicit and getattr(args, k) != saved[k]]
        for k in kept:
            setattr(args, k, saved[k])
        if kept:
            print("--resume: the run's own " + ", ".join(f"--{k.replace('_', '-')} {saved[k]}" for k in kept),
                  file=log, flush=True)
        if saved.get("procs", 1) != args.procs:
            raise ValueError(f"--resume: the run was trained on {saved.get('procs', 1)} processes; resume it with "
                             f"--procs {saved.get('procs', 1)} (its batch order depends on it)")
    elif args.init_from:
        init = torch.load(args.init_from)
        for k in ARCHITECTURE_ARGS:
            setattr(args, k, init["args"][k])  # the weights fix the architecture ...
        if args.grow_channels or args.grow_layers:
            # ... unless they are grown into a larger one that computes the same function (training/grow.py)
            args.channels = args.grow_channels or args.channels
            args.layers = args.grow_layers or args.layers
            args.hidden = None
    kwargs = backbone_kwargs(args)
    print(f"loading data from {args.data} (cutoff {args.cutoff} Å)", file=log, flush=True)
    data = load_data(args.data, args.cutoff, {"mol": args.max_train_mol, "metal": args.max_train_metal}, args.seed,
                     log=log)
    model = build_model(kwargs, args.seed)
    n_params = sum(p.numel() for p in model.parameters())
    if resume or init:
        # a fine-tuned model keeps the normalisation its weights were trained with
        stats = {int(t): TaskStats.from_dict(d) for t, d in (resume or init)["stats"].items()}
    else:
        stats = {t: task_stats(name, [g for g in data["train"] if g.task == t], 100) for t, name in enumerate(TASKS)}
    for t, s in stats.items():
        print(f"task {s.name}: energy scale (RMS force) {s.scale:.4f} eV/Å, references for Z = "
              f"{np.nonzero(s.refs)[0].tolist()}", file=log, flush=True)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    ema = EMA(model, args.ema) if args.ema > 0 else None
    step, epoch, elapsed, plateau_factor, best_val = 0, 0, 0.0, 1.0, float("inf")
    rng = np.random.default_rng(args.seed + 1)
    if init:
        source = (init["kwargs"]["sphere_channels"], init["kwargs"]["num_layers"])
        grow = (args.channels, args.layers) != source
        weights = averaged_weights(init)
        if grow:
            from .training.grow import grow_state_dict

            weights = grow_state_dict(weights, init["kwargs"], args.channels, args.layers, model.state_dict(),
                                      seed=args.seed)
        model.load_state_dict(weights)
        model.backbone.refresh_couplings()
        if ema is not None:
            ema = EMA(model, args.ema)
        grown = f", grown from {source[0]} channels × {source[1]} layers to {args.channels} × {args.layers}" if grow else ""
        print(f"initialised from {args.init_from} ({'EMA' if init.get('ema') is not None else 'raw'} weights, "
              f"step {init['step']}{grown})", file=log, flush=True)
    if resume:
        model.load_state_dict(resume["model"])
        model.backbone.refresh_couplings()
        opt.load_state_dict(resume["optimizer"])
        if ema is not None and resume.get("ema") is not None:
            ema.shadow = resume["ema"]
        step, epoch, elapsed = resume["step"], resume["epoch"], resume["elapsed"]
        plateau_factor, best_val = resume["plateau_factor"], resume["best_val"]
        rng.bit_generator.state = resume["rng"]
        torch.set_rng_state(resume["torch_rng"])
        print(f"resumed at step {step}, epoch {epoch}, {elapsed / 60:.1f} min", file=log, flush=True)
    print(f"model: {n_params} parameters, {json.dumps({k: kwargs[k] for k in ('sphere_channels', 'lmax', 'mmax', 'num_layers', 'cutoff')})}",
          file=log, flush=True)
    val_sub = [data["val"][i] for i in np.random.default_rng(0).permutation(len(data["val"]))[: args.val_frames]]
    csv_path = os.path.join(args.run, "train_log.csv") if main_rank else os.devnull
    new_csv = not os.path.exists(csv_path) or not resume
    csv_file = open(csv_path, "w" if new_csv else "a", newline="")
    writer = csv.writer(csv_file)
    if new_csv:
        writer.writerow(["kind", "minutes", "epoch", "step", "lr", "loss", "loss_energy", "loss_forces", "loss_stress",
                         "mol_energy_mae", "mol_force_mae", "metal_energy_mae", "metal_force_mae", "metal_stress_mae"])
    budget = args.hours * 3600.0
    progress = Progress(budget, stream=log)
    params = list(model.parameters())
    P = group.size
    start = time.time() - elapsed
    last_ckpt = last_val = time.time()
    running: dict = {}
    done = requested = False

    def state_dict() -> dict:
        return {"model": model.state_dict(), "optimizer": opt.state_dict(),
                "ema": ema.shadow if ema else None, "step": step, "epoch": epoch, "elapsed": time.time() - start,
                "plateau_factor": plateau_factor, "best_val": best_val, "rng": epoch_rng,
                "torch_rng": torch.get_rng_state(), "args": vars(args), "kwargs": kwargs,
                "stats": {t: s.to_dict() for t, s in stats.items()}}

    def validate() -> dict:
        m = ema.model_copy(model) if ema else model
        return evaluate_sets(m, val_sub, stats, args.eval_edges)

    pool = training_pool(data["train"], args.oversample_open_shell)
    shares = (None if args.mol_edge_share is None else
              {TASKS.index("mol"): args.mol_edge_share, TASKS.index("metal"): 1.0 - args.mol_edge_share})
    model.train()
    # SIGINT/SIGTERM: stop at the next step with a checkpoint (training/stop.py)
    with StopRequest(escalate=group.size == 1, announce=main_rank) as stopper:
        epoch_rng = rng.bit_generator.state
        while not done:
            epoch_rng = rng.bit_generator.state  # saved in checkpoints so a resumed epoch replays this order
            order = (batches_mixed(pool, args.batch_edges, rng, shares=shares) if args.mix_tasks
                     else batches_by_edges(pool, args.batch_edges, rng))
            # one optimiser step per P consecutive batches, batch P·s + rank on each rank (an incomplete
            # last group is dropped, so every rank takes the same number of steps)
            for bi in range(len(order) // P):
                idx = order[P * bi + group.rank]
                if resume and bi < resume.get("batch_in_epoch", 0):
                    continue  # resuming inside an epoch: skip the batches already seen (same seeded order)
                elapsed = time.time() - start
                stop = elapsed >= budget or bool(args.max_steps and step >= args.max_steps)
                stop, lr, requested = group.control(stop, lr_at(args, step, elapsed, plateau_factor),
                                                    stopper.requested)
                if stop or requested:
                    done = True
                    break
                for g in opt.param_groups:
                    g["lr"] = lr
                batch = collate([pool[i] for i in idx])
                pred = predict_batch(model, batch, stats, create_graph=True)
                loss, terms = loss_terms(batch, pred, args.w_energy, args.w_forces, args.w_stress, args.loss,
                                          balance_tasks=args.mix_tasks)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                group.average_gradients(params)
                torch.nn.utils.clip_grad_norm_(params, args.clip)
                opt.step()
                step += 1
                if ema:
                    ema.update(model, step)
                for k, v in terms.items():
                    running[k] = 0.9 * running.get(k, v) + 0.1 * v if k in running else v
                progress.show(time.time() - start, f"ep {epoch} step {step} loss {running['total']:.4f} "
                              f"(E {running['energy']:.4f} F {running['forces']:.4f} S {running['stress']:.4f}) lr {lr:.1e}")
                if step % args.log_every == 0:
                    writer.writerow(["train", f"{(time.time() - start) / 60:.2f}", epoch, step, f"{lr:.3e}",
                                     f"{terms['total']:.5f}", f"{terms['energy']:.5f}", f"{terms['forces']:.5f}",
                                     f"{terms['stress']:.5f}", "", "", "", "", ""])
                    csv_file.flush()
                if main_rank and time.time() - last_val >= args.val_minutes * 60:
                    r = validate()
                    last_val = time.time()
                    mol, metal = r.get("mol", {}), r.get("metal", {})
                    writer.writerow(["val", f"{(time.time() - start) / 60:.2f}", epoch, step, f"{lr:.3e}", "", "", "", "",
                                     f"{mol.get('energy', float('nan')):.2f}", f"{mol.get('forces', float('nan')):.1f}",
                                     f"{metal.get('energy', float('nan')):.2f}", f"{metal.get('forces', float('nan')):.1f}",
                                     f"{metal.get('stress', float('nan')):.3f}"])
                    csv_file.flush()
                    score = sum(x.get("forces", 0) / 100 + x.get("energy", 0) / 10 for x in r.values())
                    if score < best_val:
                        best_val = score
                    elif args.schedule == "plateau":
                        plateau_factor *= 0.5
                    progress.show(time.time() - start, f"val: {json.dumps({k: {m: round(v, 2) for m, v in x.items() if m in ('energy', 'forces', 'stress')} for k, x in r.items()})}", force=True)
                    log.write("\n")
                if main_rank and time.time() - last_ckpt >= args.checkpoint_minutes * 60:
                    st = state_dict()
                    st["batch_in_epoch"] = bi + 1
                    save_checkpoint(ckpt_path, st)
                    last_ckpt = time.time()
            else:
                epoch += 1
                resume = None
                continue
            resume = None
    log.write("\n")
    csv_file.close()
    if not main_rank:
        return None
    st = state_dict()
    st["batch_in_epoch"] = bi if done else 0
    save_checkpoint(ckpt_path, st)
    if requested:
        # stopped by a signal before its budget: no final evaluation or export, which belong to a finished run
        print(f"stopped on request at step {step} ({st['elapsed'] / 60:.1f} of {budget / 60:.0f} min); "
              f"checkpoint {ckpt_path}; continue with --resume", file=log, flush=True)
        return None
    final = ema.model_copy(model) if ema else model
    final.eval()
    # The other ranks have finished: the full evaluation may use the threads they held.
    limit_threads(args.threads * args.procs)
    results = {"val": evaluate_sets(final, data["val"], stats, args.eval_edges),
               "test": evaluate_sets(final, data["test"], stats, args.eval_edges)}
    summary = {"steps": step, "epochs": epoch, "minutes": (time.time() - start) / 60, "parameters": n_params,
               "train_frames": {TASKS[t]: sum(g.task == t for g in data["train"]) for t in range(len(TASKS))},
               "kwargs": kwargs, "args": vars(args), "results": results}
    with open(os.path.join(args.run, "results.json"), "w") as f:
        json.dump(summary, f, indent=1)
    md = [f"# Training run `{os.path.basename(os.path.normpath(args.run))}`", "",
          f"- steps {step}, epochs {epoch}, wall time {summary['minutes']:.1f} min, {n_params} parameters, "
          f"{args.threads} threads × {args.procs} processes", f"- training frames: {summary['train_frames']}",
          f"- architecture: {json.dumps({k: kwargs[k] for k in ('sphere_channels', 'lmax', 'mmax', 'num_layers', 'hidden_channels', 'edge_channels', 'num_distance_basis', 'cutoff')})}",
          f"- optimiser: AdamW lr {args.lr} → {args.min_lr} ({args.schedule}), weight decay {args.weight_decay}, "
          f"EMA {args.ema}, {args.loss} loss, weights E {args.w_energy} F {args.w_forces} S {args.w_stress}, "
          f"batch ≤ {args.batch_edges} edges", "", metrics_table(results), "",
          "Validation during training: `train_log.csv` (rows `val`)."]
    with open(os.path.join(args.run, "training_log.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print(metrics_table(results), flush=True)
    if args.export:
        name = args.name or os.path.basename(os.path.normpath(args.export))
        export(final, kwargs, stats, args.export, name, note=f"{step} steps, {summary['minutes']:.0f} min",
               ranges=trained_ranges(data["train"]))
        with open(os.path.join(args.run, "check_frames.json"), "w") as f:
            json.dump(check_frames(final, data["test"], stats), f)
        with open(os.path.join(args.export, "MODEL_CARD.md"), "w") as f:
            f.write(model_card(name, summary, args.data))
        for fn in ("training_log.md", "train_log.csv", "results.json"):
            with open(os.path.join(args.run, fn)) as src, open(os.path.join(args.export, fn), "w") as dst:
                dst.write(src.read())
        print(f"exported {args.export} (float32) and {args.export}/float64", flush=True)
    return summary


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m equiforce.train", description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="../data", help="folder with mol.npz, metal.npz, splits.json")
    ap.add_argument("--run", default="../data/runs/equiforce-small", help="run folder (checkpoint, logs; git-ignored under data/)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init-from", help="start from the EMA weights and task statistics of this checkpoint.pt "
                    "(a new run: fresh optimiser and schedule; the architecture comes from the checkpoint)")
    ap.add_argument("--grow-channels", type=int, default=0,
                    help="with --init-from: widen its model to this many channels (a multiple of its own)")
    ap.add_argument("--grow-layers", type=int, default=0,
                    help="with --init-from: deepen its model to this many layers (new blocks start as identities)")
    ap.add_argument("--export", help="write the trained model (ONNX float32 + float64/) to this folder")
    ap.add_argument("--name", help="model name in model.json")
    ap.add_argument("--measure", action="store_true", help="time training steps for candidate sizes and exit")
    ap.add_argument("--measure-sizes", default=None, help='candidates "CxL@cutoff,..." for --measure')
    ap.add_argument("--measure-reps", type=int, default=3, help="timed steps per candidate (after one warm-up)")
    a = ap.add_argument_group("architecture")
    a.add_argument("--channels", type=int, default=48)
    a.add_argument("--lmax", type=int, default=2)
    a.add_argument("--mmax", type=int, default=2)
    a.add_argument("--layers", type=int, default=3)
    a.add_argument("--hidden", type=int, default=None, help="hidden channels (default = channels)")
    a.add_argument("--edge-channels", type=int, default=32)
    a.add_argument("--num-basis", type=int, default=32)
    a.add_argument("--cutoff", type=float, default=5.0)
    o = ap.add_argument_group("optimisation")
    o.add_argument("--hours", type=float, default=2.5, help="wall-clock budget (all resumed parts together)")
    o.add_argument("--max-steps", type=int, default=0)
    o.add_argument("--lr", type=float, default=2e-3)
    o.add_argument("--min-lr", type=float, default=2e-5)
    o.add_argument("--schedule", choices=["cosine", "plateau"], default="cosine")
    o.add_argument("--warmup-steps", type=int, default=100)
    o.add_argument("--weight-decay", type=float, default=1e-3)
    o.add_argument("--clip", type=float, default=10.0)
    o.add_argument("--ema", type=float, default=0.995, help="EMA decay (0 = off)")
    o.add_argument("--batch-edges", type=int, default=3000)
    o.add_argument("--loss", choices=["mse", "mae"], default="mae",
                   help="squared errors, or fairchem-style per-atom energy MAE + L2 force/virial norms")
    o.add_argument("--w-energy", type=float, default=5.0)
    o.add_argument("--w-forces", type=float, default=1.0)
    o.add_argument("--w-stress", type=float, default=1.0)
    o.add_argument("--mix-tasks", action=argparse.BooleanOptionalAction, default=True,
                   help="every batch holds both tasks (half the edge budget each, or --mol-edge-share) and the loss "
                        "averages per task")
    o.add_argument("--mol-edge-share", type=float, default=None,
                   help="with --mix-tasks: fraction of each batch's edge budget given to mol (default: even split)")
    o.add_argument("--oversample-open-shell", type=int, default=1,
                   help="draw mol frames of ions and radicals this many times per pass (1 = as often as the others)")
    o.add_argument("--max-train-mol", type=int, default=0, help="subsample mol training frames (0 = all)")
    o.add_argument("--max-train-metal", type=int, default=0)
    o.add_argument("--seed", type=int, default=0)
    o.add_argument("--threads", type=int, default=2, help="PyTorch threads per process")
    o.add_argument("--procs", type=int, default=1,
                   help="data-parallel processes (each takes its own batch; gradients are averaged)")
    r = ap.add_argument_group("logging")
    r.add_argument("--log-every", type=int, default=20)
    r.add_argument("--val-minutes", type=float, default=10.0)
    r.add_argument("--val-frames", type=int, default=400)
    r.add_argument("--eval-edges", type=int, default=20000)
    r.add_argument("--checkpoint-minutes", type=float, default=10.0)
    return ap


def main(argv: Optional[list] = None) -> int:
    args = parser().parse_args(argv)
    args.explicit = sorted(explicit_options(argv))
    if args.measure:
        from .training.measure import main as measure_main
        return measure_main(args)
    if args.procs < 1:
        raise SystemExit("--procs must be at least 1")
    if (args.grow_channels or args.grow_layers) and not args.init_from:
        raise SystemExit("--grow-channels / --grow-layers grow the model of --init-from: name that checkpoint")
    if args.mol_edge_share is not None and not 0.0 < args.mol_edge_share < 1.0:
        raise SystemExit(f"--mol-edge-share must lie strictly between 0 and 1, got {args.mol_edge_share}")
    if args.oversample_open_shell < 1:
        raise SystemExit(f"--oversample-open-shell must be at least 1, got {args.oversample_open_shell}")
    run_parallel(train, args, args.procs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
