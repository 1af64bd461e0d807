"""Index bookkeeping for spherical-harmonic feature layouts (fairchem ``common/so3.py: CoefficientMapping``).

Two layouts are used by eSEN/UMA:

* **l-major** (node features, ``[N, (lmax+1)^2, C]``): row ``l*l + l + m`` holds degree ``l``, order
  ``m`` in ``-l..l`` (e3nn real basis, y is the polar axis; the l = 1 rows are Cartesian x, y, z).
* **m-major, truncated** (edge features in the edge frame, ``[E, M, C]``): only orders ``|m| <= mmax``
  are kept, and rows are grouped by order::

      m = 0 :            (l=0,m=0), (l=1,m=0), ..., (lmax,0)               -> lmax+1 rows
      m = 1 :  real  ->  (1,+1), (2,+1), ..., (lmax,+1)                      -> lmax rows
               imag  ->  (1,-1), (2,-1), ..., (lmax,-1)                      -> lmax rows
      m = 2 :  real  ->  (2,+2) ... (lmax,+2);  imag -> (2,-2) ... (lmax,-2)
      ...                up to m = mmax

  ``M = (lmax+1) + sum_{m=1..mmax} 2 (lmax-m+1)``.  Within each block the rows are in increasing l.

fairchem forms the edge-frame Wigner matrix as ``to_m @ D[coefficient_index, :]``; here this is the
single row gather ``D[:, m_major_rows, :]`` (``m_major_rows`` are l-major row indices), and its inverse
is the transpose (``D^T[:, :, m_major_rows]``). There is no rescaling of the truncated coefficients
(fairchem's ``rotate_inv_rescale`` buffers are not used by eSEN/UMA).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


def lm_index(l: int, m: int) -> int:
    """Row of (l, m) in the full l-major layout."""
    return l * l + l + m


@dataclass(frozen=True)
class SphericalLayout:
    """Row orders for degree ``lmax`` and order ``mmax`` (see the module docstring)."""

    lmax: int
    mmax: int
    m_major_rows: tuple = field(init=False)
    m_block_sizes: tuple = field(init=False)  # rows per order m: lmax+1, then 2*(lmax-m+1)
    m_size: tuple = field(init=False)  # number of degrees l >= m, per order m (fairchem's m_size)

    def __post_init__(self) -> None:
        if self.lmax < 0 or self.mmax < 0 or self.mmax > self.lmax:
            raise ValueError(f"need 0 <= mmax <= lmax, got lmax={self.lmax}, mmax={self.mmax}")
        rows = [lm_index(l, 0) for l in range(self.lmax + 1)]
        sizes = [self.lmax + 1]
        m_size = [self.lmax + 1]
        for m in range(1, self.mmax + 1):
            rows += [lm_index(l, m) for l in range(m, self.lmax + 1)]
            rows += [lm_index(l, -m) for l in range(m, self.lmax + 1)]
            sizes.append(2 * (self.lmax - m + 1))
            m_size.append(self.lmax - m + 1)
        object.__setattr__(self, "m_major_rows", tuple(rows))
        object.__setattr__(self, "m_block_sizes", tuple(sizes))
        object.__setattr__(self, "m_size", tuple(m_size))

    @property
    def num_l_major(self) -> int:
        """(lmax+1)^2: rows of node features."""
        return (self.lmax + 1) ** 2

    @property
    def num_m_major(self) -> int:
        """M: rows of truncated edge-frame features."""
        return len(self.m_major_rows)

    def degree_of_l_major_row(self) -> torch.Tensor:
        """[ (lmax+1)^2 ] degree l of each l-major row (fairchem's ``expand_index`` for SO3_Linear)."""
        return torch.tensor([l for l in range(self.lmax + 1) for _ in range(2 * l + 1)], dtype=torch.long)

    def degree_of_m_major_row(self) -> torch.Tensor:
        """[M] degree l of each m-major row."""
        return torch.tensor([_degree(r) for r in self.m_major_rows], dtype=torch.long)

    def edge_frame_wigner(self, wigner: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(to-edge-frame [E, M, L], from-edge-frame [E, L, M]) from the full l-major D [E, L, L]."""
        rows = torch.tensor(self.m_major_rows, dtype=torch.long, device=wigner.device)
        w = wigner.index_select(1, rows)
        return w, w.transpose(1, 2)


def _degree(row: int) -> int:
    l = 0
    while (l + 1) * (l + 1) <= row:
        l += 1
    return l
