"""Wigner D matrices in fairchem's real spherical-harmonic basis, built smoothly from edge vectors.

fairchem (eSCN / eSEN / UMA) rotates every edge's features into a frame where the edge points
along +y, runs SO(2) convolutions there, and rotates back. Its basis is real and l-major, with the
e3nn convention (y is the polar axis; the l = 1 block acts on Cartesian (x, y, z)), and it defines the
Wigner matrices through Euler angles and the fixed matrices ``Jd[l]`` that every checkpoint carries
(state-dict keys ``backbone.Jd_0`` ... ``backbone.Jd_{lmax}``)::

    D^l(alpha, beta, gamma) = Z_l(alpha) @ J_l @ Z_l(beta) @ J_l @ Z_l(gamma)

Euler angles are singular for edges along +-y (acos and atan2 have unbounded derivatives there),
which breaks forces for linear molecules. We build the same matrices without angles:

1. ``edge_rotation`` gives a rotation R with R @ unit(v) = +y that is a polynomial/rational function
   of v with a denominator >= 1 in each hemisphere (Rodrigues' formula towards +y or -y, followed by a
   half-turn about x for the southern hemisphere). It differs from fairchem's gamma = 0 frame by a roll
   about y, which the model is exactly invariant to (fairchem's own random-roll checks show it).
2. ``wigner_from_rotation`` gives D^1 = R and, for l >= 2, D^l = C_l^T (D^1 kron D^{l-1}) C_l, where
   C_l is the isometric embedding of the spin-l irrep into the product of spins 1 and l - 1 in fairchem's
   basis. ``coupling_matrices`` computes C_l numerically, once, from the checkpoint's own J matrices, so
   the basis agrees with fairchem's for every l by construction, and the result is a polynomial in R:
   cheap, differentiable, and expressible in ONNX with MatMul only.

Rotated features are ``x_rot = D @ x`` and the inverse rotation is ``D^T``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch


def z_rot_mat(angle: np.ndarray | float, l: int) -> np.ndarray:
    """Rotation about the polar (y) axis by ``angle`` in the degree-l block of fairchem's basis.

    Row ``i`` holds ``cos(f_i angle)`` on the diagonal and ``sin(f_i angle)`` on the anti-diagonal, with
    frequencies ``f = l, l-1, ..., -l`` (the e3nn 0.4 convention fairchem borrows).
    """
    angle = np.asarray(angle, dtype=np.float64)
    size = 2 * l + 1
    out = np.zeros(angle.shape + (size, size))
    for i, freq in enumerate(range(l, -l - 1, -1)):
        out[..., i, size - 1 - i] = np.sin(freq * angle)
        out[..., i, i] = np.cos(freq * angle)
    return out


def wigner_d_euler(l: int, alpha, beta, gamma, J: Sequence[np.ndarray]) -> np.ndarray:
    """Reference Wigner matrix of degree ``l`` from Euler angles, exactly as fairchem composes it."""
    Jl = np.asarray(J[l], dtype=np.float64)
    return z_rot_mat(alpha, l) @ Jl @ z_rot_mat(beta, l) @ Jl @ z_rot_mat(gamma, l)


def coupling_matrices(J: Sequence[np.ndarray], samples: int = 4, seed: int = 0) -> list[Optional[np.ndarray]]:
    """Intertwiners C_l (l >= 2) with D^l = C_l^T (D^1 kron D^{l-1}) C_l for every rotation.

    ``J`` holds fairchem's ``Jd`` matrices for l = 0..lmax. ``C[l]`` has shape [3 (2l-1), 2l+1] and
    orthonormal columns; ``C[0]`` and ``C[1]`` are None. The spin-l component of 1 (x) (l-1) has
    multiplicity one, so C_l is the (unique up to sign) null vector of the linear equations
    (D^1 kron D^{l-1}) C = C D^l over a few random rotations; its sign cancels in C^T (...) C.
    """
    lmax = len(J) - 1
    rng = np.random.default_rng(seed)
    angles = rng.uniform(0.0, 2.0 * np.pi, size=(samples, 3))
    out: list[Optional[np.ndarray]] = [None, None]
    for l in range(2, lmax + 1):
        n, m = 3 * (2 * l - 1), 2 * l + 1
        rows = []
        for alpha, beta, gamma in angles:
            d1 = wigner_d_euler(1, alpha, beta, gamma, J)
            dprev = wigner_d_euler(l - 1, alpha, beta, gamma, J)
            dl = wigner_d_euler(l, alpha, beta, gamma, J)
            product = np.kron(d1, dprev)
            # Row-major vec: vec(A C) = (A kron I_m) vec(C), vec(C B) = (I_n kron B^T) vec(C).
            rows.append(np.kron(product, np.eye(m)) - np.kron(np.eye(n), dl.T))
        system = np.concatenate(rows, axis=0)
        _, sing, vt = np.linalg.svd(system)
        null_dim = int(np.sum(sing < 1e-9 * sing[0]))
        if null_dim != 1 or sing[-2] < 1e-6 * sing[0]:
            # Exactly one (numerically) zero singular value is expected; anything else means the J
            # matrices do not define a representation compatible with D^1 (a broken checkpoint).
            raise ValueError(f"Jd matrices are not a consistent SO(3) representation at l={l}")
        C = vt[-1].reshape(n, m)
        C = C / np.sqrt(np.trace(C.T @ C) / m)
        if C.flat[np.argmax(np.abs(C))] < 0:
            C = -C
        out.append(C)
    return out


def edge_rotation(edge_vec: torch.Tensor) -> torch.Tensor:
    """Rotations R [E, 3, 3] with R @ unit(edge_vec[e]) = (0, 1, 0), smooth and finite everywhere.

    In the northern hemisphere (u_y >= 0) R is Rodrigues' rotation of u onto +y; in the southern one it
    is Rodrigues' rotation onto -y followed by a half-turn about x. Both use the denominator 1 + |u_y| >= 1.
    """
    u = edge_vec / torch.linalg.norm(edge_vec, dim=-1, keepdim=True)
    uy = u[:, 1]
    s = torch.where(uy >= 0, torch.ones_like(uy), -torch.ones_like(uy))
    # w = u x (s * y_hat) = s * (-u_z, 0, u_x)
    zero = torch.zeros_like(uy)
    wx, wz = -s * u[:, 2], s * u[:, 0]
    K = torch.stack(
        [
            torch.stack([zero, -wz, zero], dim=-1),
            torch.stack([wz, zero, -wx], dim=-1),
            torch.stack([zero, wx, zero], dim=-1),
        ],
        dim=-2,
    )
    eye = torch.eye(3, dtype=edge_vec.dtype, device=edge_vec.device).expand_as(K)
    rs = eye + K + (K @ K) / (1.0 + s * uy)[:, None, None]
    flip = torch.stack([torch.ones_like(s), s, s], dim=-1)  # diag(1, s, s)
    return flip[:, :, None] * rs


def wigner_from_rotation(
    R: torch.Tensor, lmax: int, couplings: Sequence[Optional[np.ndarray | torch.Tensor]]
) -> list[torch.Tensor]:
    """Wigner blocks D^0..D^lmax ([E, 2l+1, 2l+1] each) of the rotations R [E, 3, 3]."""
    E = R.shape[0]
    blocks = [torch.ones(E, 1, 1, dtype=R.dtype, device=R.device)]
    if lmax >= 1:
        blocks.append(R)
    for l in range(2, lmax + 1):
        C = torch.as_tensor(couplings[l], dtype=R.dtype, device=R.device)
        prev = blocks[-1]
        m = prev.shape[-1]
        product = torch.einsum("eab,ecd->eacbd", R, prev).reshape(E, 3 * m, 3 * m)
        blocks.append(C.transpose(0, 1) @ product @ C)
    return blocks


def block_diagonal(blocks: Sequence[torch.Tensor]) -> torch.Tensor:
    """Assemble per-l Wigner blocks into the block-diagonal [E, (lmax+1)^2, (lmax+1)^2] matrix."""
    size = sum(b.shape[-1] for b in blocks)
    E = blocks[0].shape[0]
    out = blocks[0].new_zeros(E, size, size)
    start = 0
    for b in blocks:
        k = b.shape[-1]
        out[:, start : start + k, start : start + k] = b
        start += k
    return out


def edge_wigner(edge_vec: torch.Tensor, lmax: int, couplings: Sequence) -> torch.Tensor:
    """Block-diagonal Wigner matrices [E, (lmax+1)^2, (lmax+1)^2] that rotate each edge onto +y."""
    return block_diagonal(wigner_from_rotation(edge_rotation(edge_vec), lmax, couplings))
