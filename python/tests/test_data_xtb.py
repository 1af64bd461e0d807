"""xtb labels: unit conversions, parsing of a committed xtb sample, and (where xtb is installed) forces
against finite differences of xtb's own energies and reproducible seeded MD."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

SAMPLE = Path(__file__).parent / "data" / "xtb_h2o"


def test_unit_constants_match_ase():
    from ase import units

    from equiforce.data.units import BOHR_ANGSTROM, HARTREE_EV, HARTREE_PER_BOHR_EV_PER_ANGSTROM

    # ASE 3.22 uses CODATA 2014; the 2018 values differ in the 8th digit at most
    assert abs(HARTREE_EV / units.Hartree - 1) < 1e-7
    assert abs(BOHR_ANGSTROM / units.Bohr - 1) < 1e-8
    assert abs(HARTREE_PER_BOHR_EV_PER_ANGSTROM - 51.422067476) < 1e-6


def _engrad(path: Path) -> tuple:
    """Independent reader of xtb's ORCA-style .engrad file (energy, gradient, coordinates)."""
    rows = [line.strip() for line in path.read_text().splitlines() if not line.startswith("#")]
    n = int(rows[0])
    e = float(rows[1])
    g = np.array([float(x) for x in rows[2:2 + 3 * n]]).reshape(n, 3)
    xyz = np.array([[float(t) for t in r.split()[1:]] for r in rows[2 + 3 * n: 2 + 4 * n]])
    return e, g, xyz


def test_parse_sample_against_engrad():
    from equiforce.data.xtb import parse_energy, parse_gradient, read_xyz_frames

    e = parse_energy((SAMPLE / "energy").read_text())
    coords, symbols, grad = parse_gradient((SAMPLE / "gradient").read_text(), 3)
    e2, g2, xyz2 = _engrad(SAMPLE / "coord.engrad")
    assert symbols == ["O", "H", "H"]
    assert abs(e - e2) < 1e-10
    np.testing.assert_allclose(grad, g2, atol=1e-11)
    np.testing.assert_allclose(coords, xyz2, atol=1e-6)
    # the gradient file's coordinates are the input geometry in bohr
    pos = read_xyz_frames(str(SAMPLE / "coord.xyz"))[0]
    np.testing.assert_allclose(coords * 0.529177210903, pos, atol=1e-9)


def test_parse_rejects_truncated_gradient():
    from equiforce.data.xtb import XtbError, parse_gradient

    text = (SAMPLE / "gradient").read_text().splitlines()
    with pytest.raises(XtbError):
        parse_gradient("\n".join(text[:5]) + "\n$end\n", 3)
    with pytest.raises(XtbError):
        parse_gradient("$grad\n$end\n", 3)


needs_xtb = pytest.mark.skipif(__import__("equiforce.data.xtb", fromlist=["xtb_binary"]).xtb_binary() is None,
                               reason="xtb not installed")


@needs_xtb
def test_singlepoint_units_and_forces_vs_finite_differences():
    """The sample has O and H1 at the same x: xtb's gradient is wrong there, the generator's ``label``
    rotates such geometries; its forces must match finite differences of xtb energies."""
    from equiforce.data.molgen import has_coordinate_ties, label
    from equiforce.data.units import HARTREE_EV
    from equiforce.data.xtb import Xtb, parse_energy, read_xyz_frames

    x = Xtb()
    pos0 = read_xyz_frames(str(SAMPLE / "coord.xyz"))[0]
    sym = ["O", "H", "H"]
    assert has_coordinate_ties(pos0)
    assert abs(x.singlepoint(sym, pos0).energy_eV - parse_energy((SAMPLE / "energy").read_text()) * HARTREE_EV) < 1e-6
    pos, lab = label(x, sym, pos0, 0, 1, seed=0)
    assert not has_coordinate_ties(pos)
    np.testing.assert_allclose(np.linalg.norm(pos - pos.mean(0), axis=1), np.linalg.norm(pos0 - pos0.mean(0), axis=1))
    h = 2e-3
    fd = np.zeros_like(pos)
    for i, k in itertools.product(range(3), range(3)):
        p, m = pos.copy(), pos.copy()
        p[i, k] += h
        m[i, k] -= h
        fd[i, k] = -(x.singlepoint(sym, p).energy_eV - x.singlepoint(sym, m).energy_eV) / (2 * h)
    assert np.abs(lab.forces_eV_per_A).max() > 0.1
    np.testing.assert_allclose(lab.forces_eV_per_A, fd, atol=2e-3)


@needs_xtb
def test_open_shell_and_charge_change_the_label():
    from equiforce.data.xtb import Xtb

    x = Xtb()
    pos = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 1.15]])  # NO radical
    neutral = x.singlepoint(["N", "O"], pos, charge=0, multiplicity=2)
    cation = x.singlepoint(["N", "O"], pos, charge=1, multiplicity=1)
    assert cation.energy_eV - neutral.energy_eV > 3.0  # an ionisation energy, eV
    with pytest.raises(ValueError, match="multiplicity"):
        x.singlepoint(["N", "O"], pos, charge=0, multiplicity=1)  # odd electron count, closed shell


@needs_xtb
def test_seeded_md_is_reproducible():
    from equiforce.data.xtb import Xtb, read_xyz_frames

    x = Xtb()
    pos = read_xyz_frames(str(SAMPLE / "coord.xyz"))[0]
    masses = np.array([15.999, 1.008, 1.008])
    run = lambda seed: x.md(["O", "H", "H"], pos, masses, temperature_K=500, time_ps=0.1, dump_fs=20, seed=seed,
                            method="gfnff")
    a, b, c = run(3), run(3), run(4)
    assert len(a) == 5
    np.testing.assert_array_equal(np.array(a), np.array(b))
    assert np.abs(np.array(a) - np.array(c)).max() > 1e-3
