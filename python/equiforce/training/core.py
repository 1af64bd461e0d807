"""Normalisation, losses, metrics and EMA for training the eSEN/UMA port.

Units. The model's raw energy ``e`` relates to physical energy like a converted UMA checkpoint
(docs/model-format.md): ``E = scale[task] · e + Σ_atoms ref[task][Z]`` (eV); forces and stress scale by
``scale[task]`` only. ``ref`` are per-task element references fitted by least squares on the training
set; ``scale`` is the task's training-set RMS force component (eV/Å), so raw force targets have unit RMS.

Loss (per batch, raw units): ``w_e · mean_b((e_b - e*_b)/N_b)² + w_f · mean_{n,k}(f - f*)²
+ w_s · mean_{b∈stress}((σ - σ*) · V_b/N_b)²``; the stress term is a per-atom virial so it is on the scale
of the energy term whatever the cell volume.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..data.graph import Graph, batches_by_edges, collate


def fit_element_references(numbers: Sequence[np.ndarray], energies: Sequence[float], num_elements: int) -> np.ndarray:
    """Least-squares ``ref[Z]`` (eV) minimising Σ_frames (E - Σ_atoms ref[Z])²; 0 for absent elements."""
    A = np.zeros((len(numbers), num_elements))
    for k, z in enumerate(numbers):
        np.add.at(A[k], np.asarray(z, dtype=np.int64), 1.0)
    used = np.nonzero(A.sum(0))[0]
    refs = np.zeros(num_elements)
    if len(used):
        sol, *_ = np.linalg.lstsq(A[:, used], np.asarray(energies, dtype=np.float64), rcond=None)
        refs[used] = sol
    return refs


def force_rms(graphs: Sequence[Graph]) -> float:
    f = np.concatenate([g.forces.reshape(-1) for g in graphs])
    return float(np.sqrt(np.mean(f ** 2)))


@dataclass
class TaskStats:
    name: str
    refs: np.ndarray  # [num_elements] eV
    scale: float  # eV per raw unit (RMS force component, eV/Å)

    def to_dict(self) -> dict:
        return {"name": self.name, "refs": self.refs.tolist(), "scale": self.scale}

    @staticmethod
    def from_dict(d: dict) -> "TaskStats":
        return TaskStats(d["name"], np.array(d["refs"]), float(d["scale"]))


def task_stats(name: str, graphs: Sequence[Graph], num_elements: int) -> TaskStats:
    refs = fit_element_references([g.numbers for g in graphs], [g.energy for g in graphs], num_elements)
    return TaskStats(name, refs, force_rms(graphs))


def _tables(stats: dict, num_tasks: int, num_elements: int) -> tuple:
    refs = torch.zeros(num_tasks, num_elements, dtype=torch.float64)
    scale = torch.ones(num_tasks, dtype=torch.float64)
    for t, s in stats.items():
        refs[t] = torch.from_numpy(np.asarray(s.refs, dtype=np.float64))
        scale[t] = s.scale
    return refs, scale


def predict_batch(model, batch, stats: dict, create_graph: bool = False) -> dict:
    """Raw and physical predictions of ``model`` on ``batch`` (see module docstring for units)."""
    from ..model import evaluate

    num_tasks = len(model.task_names)
    refs, scale = _tables(stats, num_tasks, model.hp.max_num_elements)
    need_stress = bool(batch.has_stress.any())
    # non-periodic systems get a unit cell: their shifts are zero, so edge vectors do not change, and the
    # stress of those systems (masked out of the loss) stays finite instead of dividing by det = 0.
    eye = torch.eye(3, dtype=batch.cell.dtype).expand_as(batch.cell)
    cell = torch.where(batch.periodic[:, None, None], batch.cell, eye)
    out = evaluate(model, batch.numbers, batch.edge_index, positions=batch.positions, cell_offsets=batch.shifts,
                   cell=cell, system_index=batch.system_index, charge=batch.charge, spin=batch.spin, task=batch.task,
                   forces=True, stress=need_stress, create_graph=create_graph)
    s_b = scale[batch.task]  # [B] float64
    e_ref = refs[batch.task[batch.system_index], batch.numbers].new_zeros(batch.num_systems).index_add(
        0, batch.system_index, refs[batch.task[batch.system_index], batch.numbers])
    res = {"raw": out, "scale": s_b, "e_ref": e_ref, "cell": cell,
           "energy": out["energy"].double() * s_b + e_ref,
           "forces": out["forces"] * s_b[batch.system_index].to(out["forces"].dtype)[:, None]}
    if need_stress:
        res["stress"] = out["stress"] * s_b.to(out["stress"].dtype)[:, None, None]
    return res


def _norm(x: torch.Tensor, dims) -> torch.Tensor:
    """Euclidean norm with a finite gradient at 0."""
    return torch.sqrt((x ** 2).sum(dim=dims) + 1e-12)


def _task_weights(task: torch.Tensor, balance: bool, dtype: torch.dtype) -> torch.Tensor:
    """Weights summing to 1 over the entries of ``task``: uniform, or (``balance``) equal total weight for
    every task present, so a task's share of the loss does not depend on how many atoms it has in the batch."""
    if not balance:
        return torch.full(task.shape, 1.0 / max(task.numel(), 1), dtype=dtype)
    present, inverse, counts = torch.unique(task, return_inverse=True, return_counts=True)
    return (1.0 / (counts[inverse].to(dtype) * len(present)))


def loss_terms(batch, pred: dict, w_energy: float, w_forces: float, w_stress: float, kind: str = "mse",
               balance_tasks: bool = False) -> tuple:
    """(total loss, {name: float}) in raw units (module docstring). ``kind="mae"`` uses fairchem's
    per-atom energy MAE, per-atom L2 force error ("l2mae") and the Frobenius norm of the per-atom
    virial error instead of squares: less dominated by the strongly distorted frames. ``balance_tasks``
    averages the energy and force terms per task first and then over the tasks in the batch."""
    if kind not in ("mse", "mae"):
        raise ValueError(f"loss kind must be mse or mae, got {kind!r}")
    out, s_b = pred["raw"], pred["scale"]
    e_target = ((batch.energy - pred["e_ref"]) / s_b).to(out["energy"].dtype)
    n = batch.natoms.to(out["energy"].dtype)
    de = (out["energy"] - e_target) / n
    w_sys = _task_weights(batch.task, balance_tasks, de.dtype)
    le = (w_sys * (de ** 2 if kind == "mse" else de.abs())).sum()
    f_target = batch.forces / s_b[batch.system_index].to(batch.forces.dtype)[:, None]
    df = out["forces"] - f_target
    w_atom = _task_weights(batch.task[batch.system_index], balance_tasks, df.dtype)
    lf = (w_atom * ((df ** 2).mean(1) if kind == "mse" else _norm(df, 1))).sum()
    total = w_energy * le + w_forces * lf
    terms = {"energy": float(le), "forces": float(lf), "stress": 0.0}
    if "stress" in out and bool(batch.has_stress.any()):
        m = batch.has_stress
        vol = torch.linalg.det(pred["cell"][m]).abs().to(out["stress"].dtype)
        per_atom = (vol / n[m])[:, None, None]
        s_target = batch.stress[m] / s_b[m].to(batch.stress.dtype)[:, None, None]
        ds = (out["stress"][m] - s_target) * per_atom
        ls = (ds ** 2).mean() if kind == "mse" else _norm(ds, (1, 2)).mean()
        total = total + w_stress * ls
        terms["stress"] = float(ls)
    terms["total"] = float(total)
    return total, terms


class Metrics:
    """Accumulates per-task MAEs and zero-prediction baselines."""

    def __init__(self) -> None:
        self.s: dict = {}

    def _add(self, task: int, key: str, value: float, count: int) -> None:
        d = self.s.setdefault(task, {})
        v, c = d.get(key, (0.0, 0))
        d[key] = (v + value, c + count)

    def update(self, batch, pred: dict) -> None:
        e_err = ((pred["energy"].detach() - batch.energy).abs() / batch.natoms.double()).numpy()
        e_ref_err = ((pred["e_ref"] - batch.energy).abs() / batch.natoms.double()).numpy()
        f_err = (pred["forces"].detach().double() - batch.forces.double()).abs().sum(1).numpy()
        f_abs = batch.forces.double().abs().sum(1).numpy()
        atom_task = batch.task[batch.system_index].numpy()
        tasks = batch.task.numpy()
        for t in np.unique(tasks):
            m = tasks == t
            self._add(int(t), "energy", float(e_err[m].sum()), int(m.sum()))
            self._add(int(t), "energy_refs_only", float(e_ref_err[m].sum()), int(m.sum()))
            ma = atom_task == t
            self._add(int(t), "forces", float(f_err[ma].sum()), 3 * int(ma.sum()))
            self._add(int(t), "forces_zero", float(f_abs[ma].sum()), 3 * int(ma.sum()))
            if "stress" in pred:
                ms = m & batch.has_stress.numpy()
                if ms.any():
                    d = (pred["stress"].detach().double() - batch.stress.double()).abs().numpy()[ms]
                    self._add(int(t), "stress", float(d.sum()), int(d.size))
                    self._add(int(t), "stress_zero", float(batch.stress.double().abs().numpy()[ms].sum()), int(d.size))

    def result(self, task_names: Sequence[str]) -> dict:
        """{task name: {metric: value}} in meV/atom, meV/Å, meV/Å³ (+ frame and atom counts)."""
        out = {}
        for t, d in sorted(self.s.items()):
            r = {k: 1000.0 * v / max(c, 1) for k, (v, c) in d.items()}
            r["frames"] = d["energy"][1]
            r["atoms"] = d["forces"][1] // 3
            out[task_names[t]] = r
        return out


def evaluate_sets(model, graphs: Sequence[Graph], stats: dict, max_edges: int = 20000,
                  dtype: torch.dtype = torch.float32) -> dict:
    """Per-task metrics of ``model`` on ``graphs`` (no graph kept for second derivatives)."""
    metrics = Metrics()
    was_training = model.training
    model.eval()
    for idx in batches_by_edges(graphs, max_edges):
        batch = collate([graphs[i] for i in idx], dtype)
        pred = predict_batch(model, batch, stats, create_graph=False)
        metrics.update(batch, pred)
    model.train(was_training)
    return metrics.result(model.task_names)


class EMA:
    """Exponential moving average of the parameters (``decay`` per step)."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))  # fast warm-up of the average
        for k, v in model.state_dict().items():
            if v.is_floating_point():
                self.shadow[k].mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                self.shadow[k].copy_(v)

    def model_copy(self, model: torch.nn.Module) -> torch.nn.Module:
        m = copy.deepcopy(model)
        m.load_state_dict(self.shadow)
        return m


def as_numpy_state(model: torch.nn.Module) -> dict:
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


__all__ = ["fit_element_references", "force_rms", "TaskStats", "task_stats", "predict_batch", "loss_terms",
           "Metrics", "evaluate_sets", "EMA", "as_numpy_state"]
