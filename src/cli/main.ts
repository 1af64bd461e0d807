#!/usr/bin/env node
/**
 * Entry point of the `equiforce` executable (package.json `bin`). Maps Ctrl-C to an abort
 * signal: the first press stops the run after the current step (MD writes its last frame),
 * a second press exits at once.
 *
 * @module
 */
import { runCli } from './cli.js';

const controller = new AbortController();
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts++;
  if (interrupts > 1) process.exit(130);
  process.stderr.write('\ninterrupt: stopping after the current step (Ctrl-C again to quit now)\n');
  controller.abort();
});

runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text + '\n'),
  err: (text) => process.stderr.write(text + '\n'),
  signal: controller.signal,
  progressStream: process.stderr,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`equiforce: internal error (please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
