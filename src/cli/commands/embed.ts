/**
 * `equiforce embed FILE`: per-atom embeddings to JSON or NumPy `.npy`.
 *
 * @module
 */
import { writeFileSync } from 'node:fs';
import { extname } from 'node:path';
import { ArgumentError } from '../../errors.js';
import type { CommandSpec, ParsedArgs } from '../args.js';
import { MODEL_OPTIONS, checkOutputPath, modelAndTask, readInput, type CliContext } from '../context.js';
import { writeNpy } from '../npy.js';

/** Command declaration. */
export const embedSpec: CommandSpec = {
  name: 'embed',
  summary: 'per-atom embeddings (invariant l=0 channels, or the full equivariant block) to .json or .npy',
  positionals: ['FILE'],
  options: {
    ...MODEL_OPTIONS,
    out: { type: 'string', metavar: 'FILE', help: 'output: .json (per frame: symbols and [N, C] rows) or .npy (all atoms of all frames stacked) (required)' },
    equivariant: { type: 'boolean', help: 'write the full [N, (lmax+1)², C] block instead of the invariant [N, C] one' },
  },
  details: 'example: equiforce embed molecules.xyz --out emb.npy --model models/test-dense-f64\n  python: numpy.load("emb.npy").shape == (atoms, channels)',
};

/** Run the command. */
export async function embedCommand(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const out = args.options.out as string | undefined;
  if (!out) throw new ArgumentError('--out FILE is required (.json or .npy)', 'missing-option');
  const ext = extname(out).toLowerCase();
  if (ext !== '.json' && ext !== '.npy') throw new ArgumentError(`--out must end in .json or .npy, got ${JSON.stringify(out)}`, 'bad-option');
  checkOutputPath(out, '--out');
  const frames = readInput(args.positionals[0]);
  const { potential, task } = await modelAndTask(args, frames[0], ctx);
  const equivariant = Boolean(args.options.equivariant);
  try {
    const blocks: { data: Float64Array; shape: number[] }[] = [];
    for (const s of frames) {
      const r = await potential.compute(s, { task, forces: false, stress: false, embeddings: equivariant ? 'equivariant' : 'invariant' });
      const nd = equivariant ? r.embeddings?.equivariant : r.embeddings?.invariant;
      if (!nd) throw new ArgumentError('the model returned no embeddings');
      blocks.push({ data: nd.data, shape: nd.shape.slice() });
    }
    if (ext === '.npy') {
      const inner = blocks[0].shape.slice(1);
      const atoms = blocks.reduce((a, b) => a + b.shape[0], 0);
      const all = new Float64Array(blocks.reduce((a, b) => a + b.data.length, 0));
      let offset = 0;
      for (const b of blocks) {
        all.set(b.data, offset);
        offset += b.data.length;
      }
      writeNpy(out, all, [atoms, ...inner]);
      ctx.err(`wrote ${out}: float64 array of shape [${[atoms, ...inner].join(', ')}] (${frames.length} frame(s))`);
    } else {
      const json = frames.map((s, k) => {
        const b = blocks[k];
        const rowLen = b.data.length / b.shape[0];
        return {
          formula: s.formula,
          symbols: s.symbols,
          shape: b.shape,
          embeddings: Array.from({ length: b.shape[0] }, (_, i) => Array.from(b.data.subarray(i * rowLen, (i + 1) * rowLen))),
        };
      });
      writeFileSync(out, JSON.stringify({ model: potential.metadata.name, task: task ?? null, kind: equivariant ? 'equivariant' : 'invariant', frames: json }));
      ctx.err(`wrote ${out}: ${frames.length} frame(s), ${blocks[0].shape.slice(1).join(' × ')} values per atom`);
    }
    return 0;
  } finally {
    await potential.dispose();
  }
}
