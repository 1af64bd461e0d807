/**
 * The neighbour-list result type.
 *
 * @module
 */

/**
 * A full neighbour list (both directions i→j and j→i), grouped by centre atom (CSR).
 *
 * Pair p goes from centre `centers[p]` = i to neighbour `neighbors[p]` = j through the integer
 * cell shift S = `shifts[3p..3p+2]`; its vector is
 * `vectors[3p..3p+2]` = positions[j] − positions[i] + S·cell (Å, S a row vector, cell rows a, b, c)
 * and `distances[p]` = |vector| < cutoff (strictly). The self pair i→i at S = 0 is never listed;
 * an atom's own periodic images (i→i, S ≠ 0) are. This is the pair set of ASE's
 * `primitive_neighbor_list('ijSDd', pbc, cell, positions, cutoff)`, and fairchem's graph
 * convention with `edge_index[0]` = `neighbors`, `edge_index[1]` = `centers`,
 * `edge_vec` = `vectors`.
 *
 * Order: centres ascend; the pairs of centre i are `offsets[i]..offsets[i+1]-1`. Within a
 * centre's block the order is the order in which the cell-list traversal found the pairs (by
 * neighbour bin, then by the neighbour's place in its bin): deterministic, a function of
 * positions, cell, pbc, cutoff and `binsPerCutoff` only, but not sorted by j.
 */
export interface NeighborList {
  /** Number of atoms N. */
  readonly nAtoms: number;
  /** Cutoff the list was built for, Å. */
  readonly cutoff: number;
  /** Number of pairs (both directions counted). */
  readonly count: number;
  /** Centre atom i of each pair, ascending. */
  readonly centers: Int32Array;
  /** Neighbour atom j of each pair. */
  readonly neighbors: Int32Array;
  /** Integer cell shifts S, 3 per pair. */
  readonly shifts: Int32Array;
  /** Pair vectors positions[j] − positions[i] + S·cell, 3 per pair, Å. */
  readonly vectors: Float64Array;
  /** Pair distances |vector|, Å. */
  readonly distances: Float64Array;
  /** CSR offsets, length N + 1: the pairs of centre i are offsets[i]..offsets[i+1]−1. */
  readonly offsets: Int32Array;
  /** Index of the opposite pair j→i with shift −S, for every pair. reverse[reverse[p]] = p. */
  readonly reverse: Int32Array;
}
