/**
 * The README's usage example must run as written (so it never rots): the block marked
 * `readme-example` is extracted, `from 'equiforce'` is pointed at the package (the built `dist/`
 * through package.json `exports` when a build exists, else the sources), and it is executed.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(__dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

function exampleBlock(): string {
  const marker = README.indexOf('<!-- readme-example');
  expect(marker, 'README has a readme-example block').toBeGreaterThan(0);
  const start = README.indexOf('```ts\n', marker) + '```ts\n'.length;
  const end = README.indexOf('\n```', start);
  return README.slice(start, end);
}

describe('README', () => {
  afterEach(() => vi.restoreAllMocks());

  it('the usage example runs and prints energies, forces, stress and embedding shapes', async () => {
    const built = existsSync(join(ROOT, 'dist', 'index.js'));
    const target = built ? 'equiforce' : pathToFileURL(join(ROOT, 'src', 'index.ts')).href;
    const code = exampleBlock().replace(/from 'equiforce'/g, `from '${target}'`);
    const dir = join(ROOT, 'test', 'generated');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, 'readme-example.ts');
    writeFileSync(file, code);
    const lines: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')));
    await import(pathToFileURL(file).href);
    expect(lines[0]).toMatch(/^E = -?\d+\.\d{6} eV, F\(O\) = -?\d\.\d{4},-?\d\.\d{4},-?\d\.\d{4} eV\/Å$/);
    expect(lines[1]).toMatch(/^embedding of O: 3,32 \(atoms × channels\)$/);
    expect(lines[2]).toMatch(/stress = (-?[\d.e-]+,){5}-?[\d.e-]+ eV\/Å³$/);
    const [e1, e2] = lines[3].split(',').map(Number);
    expect(e1).toBe(e2);
  });

  it("resolves `import ... from 'equiforce'` through package.json exports after a build", async () => {
    if (!existsSync(join(ROOT, 'dist', 'index.js'))) return; // CI builds before testing
    const name = 'equiforce'; // a variable: the type checker runs before the build exists
    const pkg = await import(/* @vite-ignore */ name);
    expect(typeof pkg.Potential.load).toBe('function');
    expect(typeof pkg.neighborList).toBe('function');
  });
});
