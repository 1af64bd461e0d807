"""metal labels (ASE EMT) against finite differences, and the neighbour graph against brute force."""

from __future__ import annotations

import itertools

import numpy as np


def _energy(atoms):
    from ase.calculators.emt import EMT

    a = atoms.copy()
    a.calc = EMT()
    return a.get_potential_energy()


def test_generator_forces_and_stress_match_finite_differences():
    from equiforce.data.metalgen import MetalGenerator

    gen = MetalGenerator(seed=7)
    f = gen.strain({"Cu": 0.5, "Pt": 0.25, "Au": 0.25}, "t")
    from ase import Atoms

    atoms = Atoms(numbers=f.numbers, positions=f.positions, cell=f.cell, pbc=True)
    h = 1e-4
    for i, k in [(0, 0), (3, 1), (len(atoms) - 1, 2)]:
        p, m = atoms.copy(), atoms.copy()
        p.positions[i, k] += h
        m.positions[i, k] -= h
        assert abs(f.forces[i, k] + (_energy(p) - _energy(m)) / (2 * h)) < 1e-5
    # stress = (1/V) dE/d(strain) with ASE's sign (positive = the cell wants to shrink)
    V = abs(np.linalg.det(f.cell))
    for a, b in [(0, 0), (1, 2)]:
        eps = np.zeros((3, 3))
        eps[a, b] = eps[b, a] = h / (1 if a == b else 2)
        def strained(e):
            s = atoms.copy()
            s.set_cell(np.array(atoms.cell) @ (np.eye(3) + e), scale_atoms=True)
            return _energy(s)
        fd = (strained(eps) - strained(-eps)) / (2 * h * V)
        assert abs(f.stress[a, b] - fd) < 1e-6
    assert np.abs(f.forces).max() > 1e-2 and np.abs(f.stress).max() > 1e-4


def test_neighbour_graph_matches_brute_force():
    from equiforce.data.graph import neighbour_graph

    rng = np.random.default_rng(0)
    cell = np.array([[3.0, 0.0, 0.0], [1.2, 3.1, 0.0], [0.3, -0.4, 3.4]])
    pos = rng.uniform(0, 1, (5, 3)) @ cell
    cutoff = 4.5
    ei, sh = neighbour_graph(pos, cell, cutoff)
    got = sorted(zip(ei[0].tolist(), ei[1].tolist(), map(tuple, sh.astype(int).tolist())))
    want = []
    for i, j in itertools.product(range(5), range(5)):
        for s in itertools.product(range(-3, 4), repeat=3):
            d = np.linalg.norm(pos[j] - pos[i] + np.array(s) @ cell)
            if 0 < d < cutoff:
                want.append((j, i, s))
    assert got == sorted(want)
    assert np.all(np.diff(ei[1]) >= 0)  # grouped by centre
    # molecule (no cell)
    ei, sh = neighbour_graph(pos, None, 2.5)
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    assert ei.shape[1] == int(((d < 2.5) & (d > 0)).sum())
    assert np.all(sh == 0)
