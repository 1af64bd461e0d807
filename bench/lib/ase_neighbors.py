#!/usr/bin/python3
"""Time ASE's primitive_neighbor_list for the neighbour benchmark (run by bench/neighbors.ts).

Usage: ase_neighbors.py <request.json>. The request names a float64 positions file (3N, little
endian), the cell (9 numbers), pbc, cutoff and the number of repeats. Prints one JSON line with
the pair count and every time in milliseconds (timed inside Python, so start-up and the data
transfer are not counted). Prints {"error": ...} when ASE is not importable.
"""
import json
import sys
import time


def main():
    try:
        import numpy as np
        from ase.neighborlist import primitive_neighbor_list
        import ase
    except Exception as exc:  # ASE missing: the benchmark skips this baseline
        print(json.dumps({'error': f'ASE not importable: {exc}'}))
        return
    req = json.load(open(sys.argv[1]))
    positions = np.fromfile(req['positions_file'], dtype='<f8').reshape(-1, 3)
    cell = np.array(req['cell'], dtype=float).reshape(3, 3)
    pbc = [bool(p) for p in req['pbc']]
    times = []
    count = 0
    for _ in range(int(req['repeats'])):
        t0 = time.perf_counter()
        i, j, S, D, d = primitive_neighbor_list('ijSDd', pbc, cell, positions, float(req['cutoff']),
                                                self_interaction=False)
        times.append((time.perf_counter() - t0) * 1000)
        count = len(i)
    print(json.dumps({'count': count, 'times_ms': times, 'ase_version': ase.__version__}))


if __name__ == '__main__':
    main()
