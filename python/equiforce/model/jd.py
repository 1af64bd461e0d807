"""fairchem's ``Jd`` matrices for any degree (needed only for models with no checkpoint-provided ``Jd_l``).

fairchem composes Wigner matrices as ``Z(alpha) J_l Z(beta) J_l Z(gamma)``; every checkpoint carries
``J_0 .. J_lmax`` as buffers and ``equiforce.so3.coupling_matrices`` derives the edge-frame Wigner
matrices from them. To build a *new* model (e.g. lmax = 3 or 4 for training) we need J_l ourselves.

``J_l`` is the degree-l Wigner matrix of the fixed rotation ``J_1`` (a signed permutation of x, y, z)
in the real spherical-harmonic basis with polar axis y and azimuth ``phi = atan2(x, z)``::

    Y_{l,m} ∝ P_l^{|m|}(y) * { sin(|m| phi) (m < 0),  1 (m = 0),  cos(m phi) (m > 0) }

(associated Legendre functions without the Condon-Shortley phase, orthonormal on the sphere), which
is exactly the structure that makes fairchem's ``Z(angle)`` a rotation about y for every l. D^l(R)
is obtained by solving ``Y(R p) = D^l(R) Y(p)`` over sample points. This reproduces fairchem's own
``Jd.pt`` matrices to ~2e-15 for every l = 0..11 it ships (checked once by hand; the tests check
l <= 2 against the fixtures' state dicts and the representation property for higher l). It is also
used to restore the exact values of J matrices that a float32 checkpoint stores rounded.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import lpmv

# fairchem's J_1 (identical in every checkpoint): swaps x and y with a sign, keeps z.
J1 = np.array([[0.0, -1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def real_sph_harm(l: int, points: np.ndarray) -> np.ndarray:
    """[P, 2l+1] orthonormal real spherical harmonics of degree l (basis described in the module docstring)."""
    p = points / np.linalg.norm(points, axis=1, keepdims=True)
    y = np.clip(p[:, 1], -1.0, 1.0)
    phi = np.arctan2(p[:, 0], p[:, 2])
    out = np.zeros((len(p), 2 * l + 1))
    for m in range(-l, l + 1):
        am = abs(m)
        norm = math.sqrt((2 * l + 1) / (4 * math.pi) * math.factorial(l - am) / math.factorial(l + am))
        legendre = lpmv(am, l, y) * (-1.0) ** am  # remove scipy's Condon-Shortley phase
        if m == 0:
            out[:, l] = norm * legendre
        elif m > 0:
            out[:, l + m] = math.sqrt(2) * norm * legendre * np.cos(am * phi)
        else:
            out[:, l + m] = math.sqrt(2) * norm * legendre * np.sin(am * phi)
    return out


def wigner_from_sph_harm(l: int, R: np.ndarray, samples: int = 0, seed: int = 0) -> np.ndarray:
    """D^l(R) in the basis of ``real_sph_harm`` (least squares over random points; exact to ~1e-14)."""
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(max(samples, 4 * (2 * l + 1) + 8), 3))
    Y = real_sph_harm(l, pts)
    Yr = real_sph_harm(l, pts @ R.T)
    D_t, *_ = np.linalg.lstsq(Y, Yr, rcond=None)  # Y @ D^T = Yr
    return D_t.T


def generate_jd(lmax: int) -> list[np.ndarray]:
    """[J_0, ..., J_lmax] (float64), J_l = D^l(J_1) rounded where entries are exact zeros."""
    out = []
    for l in range(lmax + 1):
        J = wigner_from_sph_harm(l, J1)
        J[np.abs(J) < 1e-13] = 0.0
        out.append(J)
    return out
