import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Potential } from '../../src/calculator/index.js';
import { runCli } from '../../src/cli/cli.js';
import { DEFAULT_MODEL_DIR } from '../../src/cli/model.js';
import { encodeNpy } from '../../src/cli/npy.js';
import { readExtxyz, readStructure } from '../../src/io/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tsx = join(root, 'node_modules/.bin/tsx');
const main = join(root, 'src/cli/main.ts');
const F64 = join(root, 'models/test-dense-f64');
const F32 = join(root, 'models/test-dense-f32');
const dir = mkdtempSync(join(tmpdir(), 'ef-cli-'));
const ethanol = join(dir, 'ethanol.xyz');
const cu = join(dir, 'cu.xyz');

function cli(args: string[], timeout = 60_000): { code: number; out: string; err: string } {
  const r = spawnSync(tsx, [main, ...args], { cwd: dir, encoding: 'utf8', timeout });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  writeFileSync(
    ethanol,
    `9
Properties=species:S:1:pos:R:3
C -0.0017 0.5535 0.0
C -1.2355 -0.3285 0.0
O 1.1755 -0.2555 0.0
H 1.9335 0.3465 0.0
H -0.0417 1.1925 0.8845
H -0.0417 1.1925 -0.8845
H -2.1425 0.2805 0.0
H -1.2255 -0.9625 0.8875
H -1.2255 -0.9625 -0.8875
`,
  );
  writeFileSync(cu, `4\nLattice="3.6 0 0 0 3.6 0 0 0 3.6" Properties=species:S:1:pos:R:3 pbc="T T T"\nCu 0 0 0\nCu 1.8 1.8 0\nCu 1.8 0 1.8\nCu 0 1.8 1.9\n`);
});

let potential: Potential;
beforeAll(async () => {
  potential = await Potential.load(F64);
});
afterAll(async () => {
  await potential?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

describe('equiforce CLI', () => {
  it('prints help for the program and each command', () => {
    const top = cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['energy', 'md', 'relax', 'embed', 'plot']) expect(top.out).toContain(c);
    const md = cli(['md', '--help']);
    expect(md.code).toBe(0);
    expect(md.out).toMatch(/--steps N/);
    expect(md.out).toMatch(/--ensemble VALUE.*\[nve\|nvt\|npt\]/);
  });

  it('user mistakes give one error line, exit status 2 and no stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['energy', join(dir, 'missing.xyz'), '--model', F64], /input file not found/],
      [['energy', ethanol, '--model', F64, '--frobnicate'], /unknown option --frobnicate/],
      [['md', ethanol, '--model', F64, '--steps', 'ten'], /--steps needs a number/],
      [['energy', ethanol, '--model', join(dir, 'nope')], /model folder not found/],
      [['energy', ethanol, '--model', F64, '--task', 'xyz'], /unknown task "xyz"/],
      [['relax', ethanol, '--model', F64, '--cell'], /periodic along all three axes/],
      [['dance'], /unknown command "dance"/],
      [['md', ethanol, '--model', F64, '--steps', '2', '--out', join(dir, 'no/such/dir/md.extxyz')], /--out .*folder .* does not exist/],
    ];
    // Two through the real executable (exit status, stderr), the rest in-process (same code path, faster).
    for (const [args, message] of cases.slice(0, 2)) {
      const r = cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.err).toMatch(/^equiforce: error: /m);
      expect(r.err).not.toMatch(/\n\s+at /); // no stack frames
    }
    for (const [args, message] of cases.slice(2)) {
      const err: string[] = [];
      const code = await runCli(args, { out: () => {}, err: (t) => err.push(t), signal: new AbortController().signal, progressStream: process.stderr });
      expect(code, args.join(' ')).toBe(2);
      expect(err.join('\n')).toMatch(message);
      expect(err.join('\n')).toMatch(/^equiforce: error: /);
    }
  });

  it('without --model points to the shipped model or says to pass --model', () => {
    const r = cli(['energy', ethanol]);
    if (existsSync(DEFAULT_MODEL_DIR)) {
      expect(r.code).toBe(0);
    } else {
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/--model DIR/);
    }
  });

  it('energy: table and JSON match the library, task chosen by structure', async () => {
    const table = cli(['energy', ethanol, '--model', F64]);
    expect(table.code).toBe(0);
    expect(table.err).toMatch(/task: omol \(chosen for a molecule/);
    const ref = await potential.compute(readStructure(ethanol), { task: 'omol' });
    expect(table.out).toContain(`energy: ${ref.energy.toFixed(6)} eV`);
    const json = cli(['energy', cu, '--model', F64, '--json']);
    expect(json.code).toBe(0);
    expect(json.err).toMatch(/task: omat/);
    const got = JSON.parse(json.out) as { energy_eV: number; forces_eV_per_A: number[][]; stress_eV_per_A3: number[] };
    const refCu = await potential.compute(readStructure(cu), { task: 'omat', stress: true });
    // the CLI's Verlet-list pair order differs from a fresh search: equal up to summation order
    expect(got.energy_eV).toBeCloseTo(refCu.energy, 12);
    got.forces_eV_per_A.flat().forEach((f, k) => expect(f).toBeCloseTo((refCu.forces as Float64Array)[k], 12));
    got.stress_eV_per_A3.forEach((s, k) => expect(s).toBeCloseTo((refCu.stress as Float64Array)[k], 12));
  });

  it('md writes a trajectory and log with a progress display; plot draws it as SVG', () => {
    const traj = join(dir, 'md.extxyz');
    const r = cli(['md', ethanol, '--model', F32, '--steps', '20', '--dt', '0.5', '--temperature', '300', '--interval', '5', '--out', traj, '--log', join(dir, 'md.log')]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/steps\/s/);
    expect(r.err).toMatch(/ETA/);
    expect(r.err).toMatch(/T=\d+\.\d K/);
    const frames = readExtxyz(traj);
    expect(frames.map((f) => f.info.step)).toEqual([0, 5, 10, 15, 20]);
    expect(frames[4].info.time_fs).toBe(10);
    expect(readFileSync(join(dir, 'md.log'), 'utf8').trim().split('\n').length).toBe(6);
    const svg = join(dir, 'energy.svg');
    const p = cli(['plot', traj, '--out', svg]);
    expect(p.code).toBe(0);
    const text = readFileSync(svg, 'utf8');
    expect(text).toMatch(/^<\?xml/);
    expect((text.match(/<polyline/g) ?? []).length).toBe(3); // Epot, Etot, T
    expect(text).toContain('Temperature (K)');
    // well-formed XML (Python's parser), and renders when rsvg-convert is installed
    try {
      execFileSync('/usr/bin/python3', ['-c', 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])', svg]);
    } catch (e) {
      if (!/ENOENT/.test(String(e))) throw e;
    }
    const png = join(dir, 'energy.png');
    const rs = spawnSync('rsvg-convert', [svg, '-o', png]);
    if (!rs.error) expect(statSync(png).size).toBeGreaterThan(5000);
  });

  it('md --ensemble npt changes the cell and records stress and pressure', () => {
    const traj = join(dir, 'npt.extxyz');
    const r = cli(['md', cu, '--model', F32, '--ensemble', 'npt', '--pressure', '5', '--barostat-time', '20', '--steps', '6', '--interval', '3', '--out', traj, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/NPT MD of Cu4/);
    expect(r.err).not.toMatch(/steps\/s  ETA/); // --quiet: no progress bar
    const frames = readExtxyz(traj);
    expect(frames.length).toBe(3);
    expect(frames[2].cell[0]).not.toBe(frames[0].cell[0]);
    expect((frames[2].info.stress as number[]).length).toBe(9);
    expect(typeof frames[2].info.pressure_GPa).toBe('number');
    const nve = cli(['md', ethanol, '--model', F32, '--ensemble', 'npt', '--steps', '2']);
    expect(nve.code).toBe(2);
    expect(nve.err).toMatch(/npt needs a structure periodic/);
  });

  it('md: Ctrl-C stops cleanly and writes the last frame', async () => {
    const traj = join(dir, 'long.extxyz');
    const child = spawn(tsx, [main, 'md', ethanol, '--model', F32, '--steps', '100000', '--interval', '1000', '--out', traj], { cwd: dir });
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    // wait until the run is going (the first frame is written before step 1)
    const t0 = Date.now();
    while (!(existsSync(traj) && statSync(traj).size > 0 && /steps\/s/.test(err)) && Date.now() - t0 < 30_000) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500));
    child.kill('SIGINT');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(130);
    expect(err).toMatch(/interrupted after \d+ of 100000 steps/);
    const frames = readExtxyz(traj);
    expect(frames.length).toBe(2); // step 0 and the frame at the interruption
    expect(frames[1].info.step as number).toBeGreaterThan(0);
    expect(frames[1].arrays.velocities).toBeDefined();
  }, 60_000);

  it('relax: reaches fmax and writes the relaxed structure', async () => {
    const out = join(dir, 'relaxed.extxyz');
    const r = cli(['relax', ethanol, '--model', F64, '--fmax', '0.004', '--optimizer', 'fire', '--out', out, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/converged after \d+ steps/);
    const relaxed = readStructure(out);
    const check = await potential.compute(relaxed, { task: 'omol' });
    const f = check.forces as Float64Array;
    for (let i = 0; i < relaxed.length; i++) expect(Math.hypot(f[3 * i], f[3 * i + 1], f[3 * i + 2])).toBeLessThan(0.004);
    expect(relaxed.info.energy).toBeCloseTo(check.energy, 10);
  });

  it('embed: .npy (NumPy v1 header) and .json match the library embeddings', async () => {
    const ref = await potential.compute(readStructure(ethanol), { task: 'omol', embeddings: true });
    const inv = ref.embeddings?.invariant;
    if (!inv) throw new Error('no embeddings');
    const npy = join(dir, 'emb.npy');
    expect(cli(['embed', ethanol, '--model', F64, '--out', npy]).code).toBe(0);
    const bytes = readFileSync(npy);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]));
    const hlen = bytes.readUInt16LE(8);
    expect((10 + hlen) % 64).toBe(0);
    expect(bytes.subarray(10, 10 + hlen).toString('latin1')).toMatch(/'shape': \(9, 16\)/);
    const data = new Float64Array(bytes.buffer.slice(bytes.byteOffset + 10 + hlen, bytes.byteOffset + bytes.length));
    expect(Array.from(data)).toEqual(Array.from(inv.data));
    expect(Buffer.from(encodeNpy(inv.data, [9, 16]))).toEqual(bytes);
    try {
      const shape = execFileSync('/usr/bin/python3', ['-c', 'import sys, numpy; a = numpy.load(sys.argv[1]); print(a.shape, a.dtype, repr(float(a[3, 5])))', npy], { encoding: 'utf8' });
      expect(shape.trim()).toBe(`(9, 16) float64 ${inv.get(3, 5)}`);
    } catch (e) {
      if (!/ENOENT|No module named/.test(String(e))) throw e;
    }
    const json = join(dir, 'emb.json');
    expect(cli(['embed', ethanol, '--model', F64, '--out', json]).code).toBe(0);
    const parsed = JSON.parse(readFileSync(json, 'utf8')) as { frames: { symbols: string[]; embeddings: number[][] }[] };
    expect(parsed.frames[0].symbols[2]).toBe('O');
    expect(parsed.frames[0].embeddings.flat()).toEqual(Array.from(inv.data));
  });
});
