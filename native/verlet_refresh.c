/*
 * Verlet-skin refresh kernel of equiforce, compiled to WebAssembly (see native/build.sh and
 * src/geometry/refresh-kernel.ts, which lays out the memory and calls it).
 *
 * It does exactly what VerletNeighborList's JavaScript refresh does (src/geometry/verlet.ts,
 * `compactJs`), with the same floating-point expressions in the same order, so both produce
 * the same list bit for bit: re-evaluate the stored skin pairs that can have come within the
 * cutoff, write the kept ones compacted in CSR order (centre, neighbour, shift, vector,
 * distance), and hand out reverse indices by per-segment cursors. The refresh is a streaming
 * pass over tens of millions of pairs per step in large MD runs; compiled code does it in
 * about 60 % of the time of V8's JIT output for the same loop (bench/results/neighbors.md).
 *
 * Freestanding C (no libc): the host owns all memory and passes byte offsets in `Refresh`.
 */

/* Everything one refresh reads and writes; the host fills it (layout mirrored in refresh-kernel.ts). */
typedef struct {
  double cut2;                  /* squared cutoff, Å² */
  double cell[9];               /* cell rows a, b, c (Å); used only without shift codes */
  int n;                        /* atoms */
  int segmentsPerAtom;          /* stencil offsets per atom: the opposite of offset o is this − 1 − o */
  int skip;                     /* pairs with shell class above this cannot be within the cutoff now */
  int reserved;
  const double *positions;      /* [3n] current positions, Å, original order */
  const int *order;             /* [n] original index of each bin-sorted atom */
  double *sorted;               /* [3n] scratch: positions in bin order */
  const int *segFirst;          /* [n+1] first non-empty segment of each centre */
  const int *segId;             /* [segments] segment id (sorted atom · segmentsPerAtom + offset) */
  const int *segEnd;            /* [segments] end (exclusive) of the segment's stored pairs */
  const unsigned char *shell;   /* [m] lower bound of (build distance − cutoff) in skin/255 */
  const unsigned short *code;   /* [m] image code into shiftTable/shiftVectors, or 0 (null) */
  const int *shifts;            /* [3m] stored shifts S, used when code is null */
  const int *neighborSorted;    /* [m] neighbour's bin-sorted index */
  const int *shiftTable;        /* [3·codes] shifts S per image code */
  const double *shiftVectors;   /* [3·codes] S·cell per image code, Å */
  int *candidates;              /* [longest block] scratch */
  int *reverseKey;              /* [m] scratch: segment holding each kept pair's reverse */
  int *cursor;                  /* [n · segmentsPerAtom] scratch: next reverse index per segment */
  int *centers, *neighbors, *outShifts; /* [m], [m], [3m] output */
  double *vectors, *distances;  /* [3m], [m] output */
  int *offsets, *reverse;       /* [n+1], [m] output */
} Refresh;

/* The host writes this struct by byte offset: keep these in step with refresh-kernel.ts. */
_Static_assert(__builtin_offsetof(Refresh, cell) == 8, "layout");
_Static_assert(__builtin_offsetof(Refresh, n) == 80, "layout");
_Static_assert(__builtin_offsetof(Refresh, positions) == 96, "layout");
_Static_assert(__builtin_offsetof(Refresh, reverse) == 180, "layout");
_Static_assert(sizeof(Refresh) == 184, "layout");

/* Returns the number of kept pairs. */
__attribute__((export_name("refresh")))
int refresh(const Refresh *r) {
  const int n = r->n, nSt = r->segmentsPerAtom, skip = r->skip;
  const double cut2 = r->cut2;
  const double *restrict positions = r->positions;
  const int *restrict order = r->order;
  double *restrict ps = r->sorted;
  const int *restrict segFirst = r->segFirst, *restrict segId = r->segId, *restrict segEnd = r->segEnd;
  const unsigned char *restrict shell = r->shell;
  const unsigned short *restrict code = r->code;
  const int *restrict sSh = r->shifts;
  const int *restrict nbs = r->neighborSorted;
  const int *restrict shTab = r->shiftTable;
  const double *restrict vTab = r->shiftVectors;
  int *restrict cand = r->candidates, *restrict key = r->reverseKey, *restrict cursor = r->cursor;
  int *restrict cen = r->centers, *restrict nbr = r->neighbors, *restrict sh = r->outShifts;
  double *restrict vec = r->vectors, *restrict dist = r->distances;
  int *restrict offsets = r->offsets, *restrict rev = r->reverse;
  const double c0 = r->cell[0], c1 = r->cell[1], c2 = r->cell[2], c3 = r->cell[3], c4 = r->cell[4];
  const double c5 = r->cell[5], c6 = r->cell[6], c7 = r->cell[7], c8 = r->cell[8];

  /* Positions in bin order: a centre's neighbours then sit in a few contiguous stretches. */
  for (int s = 0; s < n; s++) {
    const int i = order[s];
    ps[3 * s] = positions[3 * i];
    ps[3 * s + 1] = positions[3 * i + 1];
    ps[3 * s + 2] = positions[3 * i + 2];
  }
  int k = 0, p = 0;
  for (int i = 0; i < n; i++) {
    offsets[i] = k;
    const double xi = positions[3 * i], yi = positions[3 * i + 1], zi = positions[3 * i + 2];
    for (int g = segFirst[i], ge = segFirst[i + 1]; g < ge; g++) {
      /* The segment's kept pairs (if any) start at the current compacted index; their
         reverses lie in segment (neighbour, opposite offset). */
      const int seg = segId[g];
      cursor[seg] = k;
      const int keyBase = nSt - 1 - (seg % nSt);
      const int e = segEnd[g];
      /* Candidates first, branch-free, so skipped pairs cost no mispredicted branches. */
      int t = 0;
      for (; p < e; p++) { cand[t] = p; t += (shell[p] <= skip); }
      if (code) {
        for (int u = 0; u < t; u++) {
          const int q = cand[u];
          const int b = nbs[q];
          const int c = 3 * code[q];
          const double dx = ps[3 * b] - xi + vTab[c];
          const double dy = ps[3 * b + 1] - yi + vTab[c + 1];
          const double dz = ps[3 * b + 2] - zi + vTab[c + 2];
          const double d2 = dx * dx + dy * dy + dz * dz;
          /* Branch-free compaction: slot k is always written, k advances only for kept pairs. */
          cen[k] = i;
          nbr[k] = order[b];
          sh[3 * k] = shTab[c]; sh[3 * k + 1] = shTab[c + 1]; sh[3 * k + 2] = shTab[c + 2];
          vec[3 * k] = dx; vec[3 * k + 1] = dy; vec[3 * k + 2] = dz;
          dist[k] = __builtin_sqrt(d2);
          key[k] = b * nSt + keyBase;
          k += (d2 < cut2);
        }
      } else {
        for (int u = 0; u < t; u++) {
          const int q = cand[u];
          const int b = nbs[q];
          const int sx = sSh[3 * q], sy = sSh[3 * q + 1], sz = sSh[3 * q + 2];
          const double dx = ps[3 * b] - xi + (sx * c0 + sy * c3 + sz * c6);
          const double dy = ps[3 * b + 1] - yi + (sx * c1 + sy * c4 + sz * c7);
          const double dz = ps[3 * b + 2] - zi + (sx * c2 + sy * c5 + sz * c8);
          const double d2 = dx * dx + dy * dy + dz * dz;
          cen[k] = i;
          nbr[k] = order[b];
          sh[3 * k] = sx; sh[3 * k + 1] = sy; sh[3 * k + 2] = sz;
          vec[3 * k] = dx; vec[3 * k + 1] = dy; vec[3 * k + 2] = dz;
          dist[k] = __builtin_sqrt(d2);
          key[k] = b * nSt + keyBase;
          k += (d2 < cut2);
        }
      }
    }
  }
  offsets[n] = k;
  /* Reverse indices: centres in bin order, so the cursors (indexed by bin-sorted atom) are
     touched locally; each segment's cursor hands out its pairs' indices in order. */
  for (int s = 0; s < n; s++) {
    const int i = order[s];
    for (int q = offsets[i], e = offsets[i + 1]; q < e; q++) rev[q] = cursor[key[q]]++;
  }
  return k;
}
