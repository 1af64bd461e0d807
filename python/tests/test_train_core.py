"""Trainer pieces: element-reference fit, loss units, one optimisation step, EMA, and a tiny end-to-end
run with checkpoint/resume and export on synthetic EMT-labelled data."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch


def test_element_reference_fit_recovers_known_references():
    from equiforce.training.core import fit_element_references

    rng = np.random.default_rng(0)
    true = np.zeros(20)
    true[[1, 6, 7, 8, 16]] = [-13.6, -1030.1, -1480.2, -2040.3, -10830.4]
    numbers = [rng.choice([1, 6, 7, 8, 16], size=rng.integers(2, 25)) for _ in range(200)]
    energies = [true[z].sum() + rng.normal(scale=1e-3) for z in numbers]
    refs = fit_element_references(numbers, energies, 20)
    np.testing.assert_allclose(refs[[1, 6, 7, 8, 16]], true[[1, 6, 7, 8, 16]], atol=2e-3)
    assert np.all(refs[[0, 2, 3, 9, 17]] == 0)  # absent elements


def _emt_graphs(cutoff=4.0):
    """Two small molecules (EMT knows H, C, N, O) as task 0 and one Cu/Ni cell as task 1."""
    from ase import Atoms
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from equiforce.data.graph import Graph, neighbour_graph

    out = []
    rng = np.random.default_rng(1)
    for sym, pos in [("CO", [[0, 0, 0], [0, 0, 1.2]]), ("NHHH", [[0, 0, 0], [1.0, 0, 0], [-0.4, 0.9, 0], [-0.3, -0.5, 0.8]])]:
        a = Atoms(sym, positions=np.array(pos) + rng.normal(scale=0.05, size=(len(sym) if sym != "NHHH" else 4, 3)))
        a.calc = EMT()
        ei, sh = neighbour_graph(a.positions, None, cutoff)
        out.append(Graph(a.numbers, a.positions, ei, sh, np.zeros((3, 3)), False, a.get_potential_energy(),
                         a.get_forces(), None, 0, 1, 0))
    a = bulk("Cu", "fcc", a=3.6, cubic=True)
    a.numbers[1] = 28
    a.positions += rng.normal(scale=0.1, size=a.positions.shape)
    a.calc = EMT()
    ei, sh = neighbour_graph(a.positions, np.array(a.cell), cutoff)
    out.append(Graph(a.numbers, a.positions, ei, sh, np.array(a.cell), True, a.get_potential_energy(),
                     a.get_forces(), a.get_stress(voigt=False), 0, 0, 1))
    return out


def _tiny_args(**kw):
    from equiforce.train import parser

    args = parser().parse_args(["--channels", "8", "--layers", "1", "--edge-channels", "8", "--num-basis", "8",
                                "--cutoff", "4.0"])
    for k, v in kw.items():
        setattr(args, k, v)
    return args


@pytest.mark.parametrize("kind", ["mse", "mae"])
def test_one_training_step_reduces_the_loss(kind):
    from equiforce.data.graph import collate
    from equiforce.train import backbone_kwargs, build_model
    from equiforce.training.core import loss_terms, predict_batch, task_stats

    graphs = _emt_graphs()
    model = build_model(backbone_kwargs(_tiny_args()), seed=0)
    stats = {0: task_stats("mol", graphs[:2], 100), 1: task_stats("metal", graphs[2:], 100)}
    batch = collate(graphs)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    pred = predict_batch(model, batch, stats, create_graph=True)
    loss, terms = loss_terms(batch, pred, 1.0, 1.0, 1.0, kind)
    assert terms["stress"] > 0 and np.isfinite(terms["total"])
    opt.zero_grad()
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    opt.step()
    loss2, _ = loss_terms(batch, predict_batch(model, batch, stats), 1.0, 1.0, 1.0, kind)
    assert float(loss2) < float(loss)


def test_physical_predictions_use_scale_and_references():
    from equiforce.data.graph import collate
    from equiforce.model import evaluate
    from equiforce.train import backbone_kwargs, build_model
    from equiforce.training.core import TaskStats, predict_batch

    graphs = _emt_graphs()
    model = build_model(backbone_kwargs(_tiny_args()), seed=1)
    refs = np.zeros(100)
    refs[[6, 7, 8, 1, 28, 29]] = [1.0, 2.0, 3.0, 0.5, -4.0, -5.0]
    stats = {0: TaskStats("mol", refs, 2.0), 1: TaskStats("metal", refs * 2, 0.5)}
    batch = collate(graphs)
    pred = predict_batch(model, batch, stats)
    for b, g in enumerate(graphs):
        single = evaluate(model, torch.tensor(g.numbers), torch.tensor(g.edge_index),
                          positions=torch.tensor(g.positions, dtype=torch.float32),
                          cell_offsets=torch.tensor(g.shifts, dtype=torch.float32),
                          cell=torch.tensor(g.cell if g.periodic else np.eye(3), dtype=torch.float32),
                          charge=[g.charge], spin=[g.spin], task=[g.task])
        s = stats[g.task]
        want = s.scale * float(single["energy"][0]) + s.refs[g.numbers].sum()
        assert abs(float(pred["energy"][b]) - want) < 1e-4 * max(1, abs(want))
        m = (batch.system_index == b)
        np.testing.assert_allclose(pred["forces"][m].detach().numpy(), s.scale * single["forces"].detach().numpy(),
                                   rtol=1e-4, atol=1e-5)


def _write_tiny_dataset(d):
    from ase import Atoms
    from ase.calculators.emt import EMT

    from equiforce.data.metalgen import MetalGenerator
    from equiforce.data.splits import make_splits, save
    from equiforce.data.store import Frame, FrameSet, pack

    rng = np.random.default_rng(0)
    mol = []
    for g, sym in enumerate(["CO", "NO", "OO", "CN", "CC"]):
        for k in range(3):
            a = Atoms(sym, positions=[[0, 0, 0], [0, 0, 1.2 + 0.05 * k]])
            a.positions += rng.normal(scale=0.03, size=(2, 3))
            a.calc = EMT()
            mol.append(Frame(a.numbers, a.positions, a.get_potential_energy(), a.get_forces(), 0, 1, group=sym,
                             kind="t"))
    FrameSet(pack(mol, "mol")).save(os.path.join(d, "mol.npz"))
    gen = MetalGenerator(seed=1)
    metal = []
    for fr in ({"Cu": 1.0}, {"Ni": 1.0}, {"Cu": 0.5, "Ni": 0.5}, {"Cu": 0.25, "Ni": 0.75}, {"Cu": 0.75, "Ni": 0.25}):
        metal += gen.composition(fr, dict(bulk=2, vacancy=0, strain=1, slab=0, md_temperatures=[], md_snapshots=0))
    FrameSet(pack(metal, "metal")).save(os.path.join(d, "metal.npz"))
    save(os.path.join(d, "splits.json"), make_splits(d, seed=0, fractions=(0.6, 0.2, 0.2)))


def test_tiny_run_checkpoint_resume_and_export(tmp_path):
    from equiforce.train import train

    data = tmp_path / "data"
    data.mkdir()
    _write_tiny_dataset(str(data))
    run = str(tmp_path / "run")
    out = train(_tiny_args(data=str(data), run=run, max_steps=3, batch_edges=200, hours=1.0, warmup_steps=1,
                           val_minutes=1e9, checkpoint_minutes=1e9, log_every=1))
    assert out["steps"] == 3
    assert set(out["results"]["test"]) == {"mol", "metal"}
    assert out["results"]["test"]["metal"]["stress"] >= 0
    ck = torch.load(os.path.join(run, "checkpoint.pt"))
    assert ck["step"] == 3
    export = str(tmp_path / "model")
    out2 = train(_tiny_args(data=str(data), run=run, max_steps=5, batch_edges=200, hours=1.0, resume=True, log_every=1,
                            export=export, channels=999))  # architecture comes from the checkpoint
    assert out2["steps"] == 5 and out2["kwargs"]["sphere_channels"] == 8
    meta = json.load(open(os.path.join(export, "model.json")))
    meta64 = json.load(open(os.path.join(export, "float64", "model.json")))
    assert meta["dtype"] == "float32" and meta64["dtype"] == "float64"
    tasks = {t["name"]: t for t in meta["tasks"]}
    assert set(tasks) == {"mol", "metal"}
    stats = ck["stats"]
    assert tasks["mol"]["energy_scale"] == pytest.approx(stats[0]["scale"])
    assert tasks["metal"]["element_references_eV"][29] == pytest.approx(stats[1]["refs"][29])
    assert sorted(meta["supported_elements"]) == [6, 7, 8, 28, 29]
    card = open(os.path.join(export, "MODEL_CARD.md")).read()
    assert "| test | metal |" in card and "Targets" in card
    rows = open(os.path.join(run, "train_log.csv")).read().splitlines()
    assert rows[0].startswith("kind,") and len(rows) == 1 + 5


def test_resume_from_the_command_line_keeps_the_runs_schedule(tmp_path):
    """`--resume --export DIR` of a finished run exports it: the schedule options (--hours, --max-steps, --lr, ...)
    and the log's rhythm (--val-minutes, --val-frames, ...) come from the checkpoint unless the command line names
    them, so defaults do not start a second schedule."""
    from equiforce.train import explicit_options, main

    assert explicit_options(["--run", "r", "--resume", "--lr", "1e-4"]) == {"run", "resume", "lr"}
    data = tmp_path / "data"
    data.mkdir()
    _write_tiny_dataset(str(data))
    run = str(tmp_path / "run")
    tiny = ["--channels", "8", "--layers", "1", "--edge-channels", "8", "--num-basis", "8", "--cutoff", "4.0",
            "--data", str(data), "--run", run, "--batch-edges", "200", "--threads", "1", "--val-minutes", "1e9"]
    assert main(tiny + ["--max-steps", "2", "--hours", "1.0", "--lr", "5e-4", "--warmup-steps", "1"]) == 0
    assert main(["--data", str(data), "--run", run, "--resume", "--threads", "1", "--export", str(tmp_path / "m")]) == 0
    ck = torch.load(os.path.join(run, "checkpoint.pt"))
    assert ck["step"] == 2 and ck["args"]["lr"] == 5e-4 and ck["args"]["hours"] == 1.0
    assert ck["args"]["val_minutes"] == 1e9
    assert os.path.exists(tmp_path / "m" / "model.onnx")
    assert main(["--data", str(data), "--run", run, "--resume", "--threads", "1", "--max-steps", "3"]) == 0
    assert torch.load(os.path.join(run, "checkpoint.pt"))["step"] == 3  # named on the command line: extends the run


def test_mixed_batches_hold_every_task_and_cover_each_frame():
    from equiforce.data.graph import batches_by_edges, batches_mixed

    graphs = _emt_graphs() * 7  # 14 molecules (task 0) and 7 metal cells (task 1)
    rng = np.random.default_rng(3)
    budget = 2 * max(g.edge_index.shape[1] for g in graphs)
    batches = batches_mixed(graphs, budget, rng)
    tasks = [{graphs[i].task for i in b} for b in batches]
    assert all(t == {0, 1} for t in tasks)
    seen = sorted({i for b in batches for i in b})
    assert seen == list(range(len(graphs)))  # every frame at least once per pass
    # each task's part respects half the budget unless a single graph is larger than that
    for b in batches:
        for t in (0, 1):
            part = [i for i in b if graphs[i].task == t]
            edges = sum(graphs[i].edge_index.shape[1] for i in part)
            assert edges <= budget // 2 or len(part) == 1
    # the larger task is covered exactly once: as many batches as packing that task alone gives
    mol = [g for g in graphs if g.task == 0]
    metal = [g for g in graphs if g.task == 1]
    n_mol = len(batches_by_edges(mol, budget // 2, None))
    n_metal = len(batches_by_edges(metal, budget // 2, None))
    assert len(batches) == max(n_mol, n_metal)


def test_edge_shares_and_open_shell_oversampling():
    import dataclasses

    from equiforce.data.graph import batches_mixed
    from equiforce.train import training_pool

    graphs = _emt_graphs() * 7
    # ions and radicals: the first two molecules become a cation and a doublet radical
    graphs[0] = dataclasses.replace(graphs[0], charge=1)
    graphs[1] = dataclasses.replace(graphs[1], spin=2)
    pool = training_pool(graphs, 3)
    assert len(pool) == len(graphs) + 2 * 2
    assert sum(g is graphs[0] for g in pool) == 3 and sum(g is graphs[1] for g in pool) == 3
    for k in (2, 3):  # a metal cell and a closed-shell molecule: as often as in the training set
        assert sum(g is graphs[k] for g in pool) == sum(g is graphs[k] for g in graphs)
    assert training_pool(graphs, 1) == graphs
    budget = 4 * max(g.edge_index.shape[1] for g in graphs)
    batches = batches_mixed(pool, budget, np.random.default_rng(5), shares={0: 0.75, 1: 0.25})
    for b in batches:
        mol = sum(pool[i].edge_index.shape[1] for i in b if pool[i].task == 0)
        metal = [i for i in b if pool[i].task == 1]
        assert mol <= int(0.75 * budget)
        assert sum(pool[i].edge_index.shape[1] for i in metal) <= int(0.25 * budget) or len(metal) == 1


def test_task_balanced_loss_weighs_tasks_equally():
    from equiforce.data.graph import collate
    from equiforce.train import backbone_kwargs, build_model
    from equiforce.training.core import loss_terms, predict_batch, task_stats

    graphs = _emt_graphs()
    model = build_model(backbone_kwargs(_tiny_args()), seed=0)
    stats = {0: task_stats("mol", graphs[:2], 100), 1: task_stats("metal", graphs[2:], 100)}
    per_task = {}
    for t, part in ((0, graphs[:2]), (1, graphs[2:])):
        b = collate(part)
        per_task[t] = loss_terms(b, predict_batch(model, b, stats), 1.0, 1.0, 0.0, "mae")[1]
    b = collate(graphs)
    pred = predict_batch(model, b, stats)
    balanced = loss_terms(b, pred, 1.0, 1.0, 0.0, "mae", balance_tasks=True)[1]
    plain = loss_terms(b, pred, 1.0, 1.0, 0.0, "mae")[1]
    for k in ("energy", "forces"):
        assert balanced[k] == pytest.approx(0.5 * (per_task[0][k] + per_task[1][k]), rel=1e-5)
    # the plain loss weighs by atoms (forces) and systems (energy): 7 molecule atoms vs 4 metal atoms
    n0, n1 = sum(len(g.numbers) for g in graphs[:2]), len(graphs[2].numbers)
    assert plain["forces"] == pytest.approx((n0 * per_task[0]["forces"] + n1 * per_task[1]["forces"]) / (n0 + n1), rel=1e-5)


def test_trained_ranges_cover_the_mol_training_frames_only():
    from equiforce.train import trained_ranges

    graphs = _emt_graphs()  # two neutral singlet molecules (task 0) and one metal cell (task 1)
    graphs[0].charge, graphs[0].spin = -1, 2
    graphs[2].charge = 5  # the metal task's charge must not widen the range
    assert trained_ranges(graphs) == {"charge_range": [-1, 0], "spin_range": [1, 2]}
    assert trained_ranges([g for g in graphs if g.task == 1]) == {}


def _first_run(tmp_path, steps: int, batch_edges: int):
    """A tiny dataset and a short run on it: (data folder, the run's checkpoint path, the checkpoint)."""
    from equiforce.train import train

    data = tmp_path / "data"
    data.mkdir()
    _write_tiny_dataset(str(data))
    first = str(tmp_path / "first")
    train(_tiny_args(data=str(data), run=first, max_steps=steps, batch_edges=batch_edges, hours=1.0, warmup_steps=1,
                     val_minutes=1e9, checkpoint_minutes=1e9))
    path = os.path.join(first, "checkpoint.pt")
    return data, path, torch.load(path)


def test_init_from_starts_a_new_run_from_the_ema_weights_and_statistics(tmp_path):
    from equiforce.train import train

    data, first_ckpt, src = _first_run(tmp_path, steps=3, batch_edges=200)
    second = str(tmp_path / "second")
    out = train(_tiny_args(data=str(data), run=second, init_from=first_ckpt,
                           channels=999, hours=1e-9, val_minutes=1e9, checkpoint_minutes=1e9))  # budget spent: 0 steps
    assert out["steps"] == 0 and out["kwargs"]["sphere_channels"] == 8  # architecture from the source
    ck = torch.load(os.path.join(second, "checkpoint.pt"))
    for k, v in src["ema"].items():
        assert torch.equal(ck["model"][k], v), k  # the averaged weights, not the last raw ones
    assert ck["stats"] == src["stats"]


def test_two_processes_take_one_step_with_the_gradient_averaged_over_their_batches(tmp_path):
    """--procs 2: rank r trains on batch 2s + r and both apply the mean gradient. After one AdamW step
    (no weight decay) every parameter moved by -lr · g/(|g| + eps) with g the mean of the two batches'
    gradients, computed here in one process."""
    from equiforce.data.graph import batches_mixed, collate
    from equiforce.train import backbone_kwargs, build_model, load_data
    from equiforce.training.core import TaskStats, loss_terms, predict_batch
    from equiforce.train import train
    from equiforce.training.parallel import run

    data, first_ckpt, src = _first_run(tmp_path, steps=1, batch_edges=60)
    pair = str(tmp_path / "pair")
    lr = 1e-3
    args = _tiny_args(data=str(data), run=pair, init_from=first_ckpt, max_steps=1,
                      batch_edges=60, hours=1000.0, warmup_steps=1, lr=lr, weight_decay=0.0, clip=1e9, procs=2,
                      threads=1, val_minutes=1e9, checkpoint_minutes=1e9)
    run(train, args, 2)
    after = torch.load(os.path.join(pair, "checkpoint.pt"))["model"]

    kwargs = backbone_kwargs(args)
    model = build_model(kwargs, args.seed)
    model.load_state_dict(src["ema"])
    model.backbone.refresh_couplings()
    stats = {int(t): TaskStats.from_dict(d) for t, d in src["stats"].items()}
    graphs = load_data(str(data), args.cutoff, {}, args.seed)["train"]
    order = batches_mixed(graphs, args.batch_edges, np.random.default_rng(args.seed + 1))
    assert len(order) >= 2
    loss = 0.0
    for idx in order[:2]:
        batch = collate([graphs[i] for i in idx])
        pred = predict_batch(model, batch, stats, create_graph=True)
        loss = loss + 0.5 * loss_terms(batch, pred, args.w_energy, args.w_forces, args.w_stress, args.loss,
                                      balance_tasks=args.mix_tasks)[0]
    loss.backward()
    moved = 0
    for name, p in model.named_parameters():
        if p.grad is None:
            continue
        g = p.grad.double()
        expected = p.detach().double() - lr * g / (g.abs() + 1e-8)
        sure = g.abs() > 1e-5  # where |g| ~ eps the step size is ill-conditioned
        np.testing.assert_allclose(after[name].double()[sure].numpy(), expected[sure].numpy(), rtol=1e-6, atol=2e-5 * lr)  # float32 rounding of p
        moved += int(sure.sum())
    assert moved > 100


def test_breakdown_samples_training_frames_reproducibly_and_in_order():
    from equiforce.training.breakdown import sample_frames

    idx = np.arange(100, 200)
    assert np.array_equal(sample_frames(idx, 0), idx)
    assert np.array_equal(sample_frames(idx, 500), idx)
    part = sample_frames(idx, 10)
    assert len(part) == 10 and len(set(part)) == 10 and set(part) <= set(idx)
    assert np.all(np.diff(part) > 0)
    assert np.array_equal(part, sample_frames(idx, 10))
    with pytest.raises(ValueError, match="max-frames"):
        sample_frames(idx, -1)


@pytest.mark.parametrize("channels,layers", [(16, 1), (8, 3), (16, 2)])
def test_grown_model_computes_the_same_energy_forces_and_stress(channels, layers):
    """training/grow.py: a model widened (channel copies) and deepened (identity blocks) predicts what the
    source predicts, and the copies are not symmetric (their gradients differ), so they can diverge."""
    from equiforce.data.graph import collate
    from equiforce.train import backbone_kwargs, build_model
    from equiforce.training.core import predict_batch, task_stats
    from equiforce.training.grow import grow_state_dict

    graphs = _emt_graphs()
    graphs[0].charge, graphs[0].spin = 1, 2  # a radical cation: charge and spin embeddings matter
    kw_small = backbone_kwargs(_tiny_args())
    small = build_model(kw_small, seed=0).double()
    with torch.no_grad():  # non-trivial norms, biases and embeddings everywhere
        gen = torch.Generator().manual_seed(3)
        for p in small.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    small.backbone.refresh_couplings()
    stats = {0: task_stats("mol", graphs[:2], 100), 1: task_stats("metal", graphs[2:], 100)}
    batch = collate(graphs, torch.float64)
    ref = predict_batch(small, batch, stats)

    kw_big = backbone_kwargs(_tiny_args(channels=channels, layers=layers))
    big = build_model(kw_big, seed=1).double()
    big.load_state_dict(grow_state_dict(small.state_dict(), kw_small, channels, layers, big.state_dict()))
    big.backbone.refresh_couplings()
    out = predict_batch(big, batch, stats)
    for key in ("energy", "forces", "stress"):
        np.testing.assert_allclose(out[key].detach().numpy(), ref[key].detach().numpy(), rtol=1e-9, atol=1e-9,
                                   err_msg=key)
    assert sum(p.numel() for p in big.parameters()) > sum(p.numel() for p in small.parameters())

    if channels > 8:
        again = predict_batch(big, batch, stats, create_graph=True)
        (again["energy"].sum() + again["forces"].pow(2).sum()).backward()
        g = big.backbone.sphere_embedding.weight.grad[[1, 6, 7, 8, 28, 29]]  # the elements present
        assert not torch.allclose(g[:, :8], g[:, 8:]), "the two copies of each channel get the same gradient"


def test_grow_refuses_sizes_it_cannot_reach():
    from equiforce.train import backbone_kwargs, build_model
    from equiforce.training.grow import grow_state_dict

    kw = backbone_kwargs(_tiny_args(layers=2))
    sd = build_model(kw, seed=0).state_dict()
    with pytest.raises(ValueError, match="multiple of the channels"):
        grow_state_dict(sd, kw, 12, 2, sd)
    with pytest.raises(ValueError, match="at least 2 layers"):
        grow_state_dict(sd, kw, 8, 1, sd)


def test_init_from_with_grow_options_starts_a_larger_model(tmp_path):
    from equiforce.train import train

    data, first_ckpt, src = _first_run(tmp_path, steps=1, batch_edges=200)
    grown = str(tmp_path / "grown")
    out = train(_tiny_args(data=str(data), run=grown, init_from=first_ckpt, grow_channels=16, grow_layers=2,
                           hours=1e-9, val_minutes=1e9, checkpoint_minutes=1e9))
    assert out["steps"] == 0
    assert (out["kwargs"]["sphere_channels"], out["kwargs"]["num_layers"]) == (16, 2)
    ck = torch.load(os.path.join(grown, "checkpoint.pt"))
    assert ck["stats"] == src["stats"]
    assert ck["model"]["backbone.sphere_embedding.weight"].shape[1] == 16
    assert torch.equal(ck["model"]["backbone.sphere_embedding.weight"][:, 8:], src["ema"]["backbone.sphere_embedding.weight"])


def _train_rows(run: str) -> int:
    path = os.path.join(run, "train_log.csv")
    return sum(r.startswith("train,") for r in open(path)) if os.path.exists(path) else 0


def _living_in_group(pgid: int) -> list:
    """Pids of the processes of group ``pgid`` that still run (zombies, which a container's init may be slow to
    reap, do not count)."""
    living = []
    for d in os.listdir("/proc"):
        try:
            stat = open(f"/proc/{d}/stat").read()
        except (OSError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state, ppid, pgrp, ...
        if d.isdigit() and int(fields[2]) == pgid and fields[0] != "Z":
            living.append(int(d))
    return living


@pytest.mark.parametrize("procs,sig", [(1, "SIGINT"), (2, "SIGTERM")])
def test_a_signal_stops_the_run_with_a_checkpoint_that_resumes(tmp_path, procs, sig):
    """SIGINT/SIGTERM to the command (with --procs 2: to the parent only, as `kill PID` does) stops every
    process at the next step; the checkpoint holds that step, no final evaluation runs, and --resume
    continues the same run to its step budget."""
    import signal
    import subprocess
    import sys
    import time

    data = tmp_path / "data"
    data.mkdir()
    _write_tiny_dataset(str(data))
    run = str(tmp_path / "run")
    cmd = [sys.executable, "-m", "equiforce.train", "--channels", "8", "--layers", "1", "--edge-channels", "8",
           "--num-basis", "8", "--cutoff", "4.0", "--data", str(data), "--run", run, "--batch-edges", "60",
           "--threads", "1", "--procs", str(procs), "--val-minutes", "1e9", "--checkpoint-minutes", "1e9",
           "--log-every", "1", "--hours", "10", "--warmup-steps", "1"]
    cwd = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)  # its own process group: the ranks can be found after it
    try:
        deadline = time.time() + 180
        while _train_rows(run) < 3 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert _train_rows(run) >= 3, "the run did not start training in time"
        proc.send_signal(getattr(signal, sig))
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err[-2000:]
    assert "stopped on request" in err
    time.sleep(0.5)
    assert _living_in_group(proc.pid) == []  # no rank outlived the command
    ck = torch.load(os.path.join(run, "checkpoint.pt"))
    stopped = ck["step"]
    assert stopped >= 3 and stopped == _train_rows(run)  # the checkpoint is where the log ends
    assert not os.path.exists(os.path.join(run, "results.json"))  # no final evaluation of a stopped run
    resumed = subprocess.run([sys.executable, "-m", "equiforce.train", "--data", str(data), "--run", run, "--resume",
                              "--procs", str(procs), "--threads", "1", "--max-steps", str(stopped + 2)],
                             cwd=cwd, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resumed at step {stopped}" in resumed.stderr
    assert torch.load(os.path.join(run, "checkpoint.pt"))["step"] == stopped + 2
    assert os.path.exists(os.path.join(run, "results.json"))
