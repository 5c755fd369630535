import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { c as createTar } from 'tar';
import { ConfigError } from '../core/errors.js';
import { silentLogger } from '../core/logging.js';
import { CIFAR10_DIR_NAME } from '../worker/data/cifar10-format.js';
import { loadCifar10 } from '../worker/data/cifar10-loader.js';
import { writeSyntheticCifar10 } from '../worker/data/synthetic.js';
import { registerDataCommand } from './data-command.js';

let root: string;

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'data-command-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Run `encourage <args>` in-process; returns what was written to stdout. */
async function run(args: string[]): Promise<{ stdout: string }> {
  let stdout = '';
  const program = new Command('encourage').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  registerDataCommand(program, { stdout: { write: (s: string) => (stdout += s) }, logger: silentLogger, progressStream: { write: () => true, isTTY: false } });
  await program.parseAsync(['node', 'encourage', ...args]);
  return { stdout };
}

const lastJson = (stdout: string): Record<string, unknown> => JSON.parse(stdout.trimEnd().split('\n').at(-1)!) as Record<string, unknown>;

test('data synth writes a loadable dataset and prints one JSON line', async () => {
  const out = path.join(root, 'synth');
  const { stdout } = await run(['data', 'synth', '--out', out, '--train', '12', '--test', '3', '--seed', '9']);
  assert.deepEqual(lastJson(stdout), { outDir: out, train: 12, test: 3, seed: 9 });
  assert.equal((await loadCifar10(out, { split: 'train' })).count, 12);
  assert.equal((await loadCifar10(out, { split: 'test' })).count, 3);
});

test('bad values are ConfigErrors naming the flag', async () => {
  const cases: Array<[string[], string]> = [
    [['data', 'synth', '--out', path.join(root, 'x'), '--train', 'abc'], '--train'],
    [['data', 'synth', '--out', path.join(root, 'x'), '--train', '4'], '--train'],
    [['data', 'synth', '--out', path.join(root, 'x'), '--test', '0'], '--test'],
    [['data', 'synth', '--out', path.join(root, 'x'), '--seed', '1.5'], '--seed'],
    [['data', 'synth'], '--out'],
    [['data', 'download', '--data-dir', path.join(root, 'x'), '--md5', 'xyz'], '--md5'],
    [['data', 'download', '--data-dir', path.join(root, 'x'), '--url', 'ftp://host/a.tgz'], '--url'],
    [['data', 'download', '--data-dir', path.join(root, 'x'), '--timeout-ms', '0'], '--timeout-ms'],
  ];
  for (const [args, flag] of cases) {
    await assert.rejects(run(args), (err: unknown) => err instanceof ConfigError && err.key === flag, args.join(' '));
  }
  // Nothing was written by the rejected invocations.
  assert.deepEqual((await readdir(root)).filter((n) => n === 'x'), []);
});

test('data download installs from a local archive, then reports a cache hit', async () => {
  await writeSyntheticCifar10({ outDir: path.join(root, 'src', CIFAR10_DIR_NAME), train: 5, test: 2, seed: 1 });
  const archive = path.join(root, 'cifar-10-binary.tar.gz');
  await createTar({ gzip: true, file: archive, cwd: path.join(root, 'src') }, [CIFAR10_DIR_NAME]);
  const md5 = createHash('md5').update(await readFile(archive)).digest('hex');
  const dataDir = path.join(root, 'data');
  const first = lastJson((await run(['data', 'download', '--data-dir', dataDir, '--url', archive, '--md5', md5])).stdout);
  assert.equal(first['cached'], false);
  assert.equal(first['md5'], md5);
  assert.equal(first['dir'], path.join(dataDir, CIFAR10_DIR_NAME));
  assert.deepEqual([first['train'], first['test']], [5, 2]);
  const second = lastJson((await run(['data', 'download', '--data-dir', dataDir, '--url', archive, '--md5', md5])).stdout);
  assert.equal(second['cached'], true);
});

test('every data subcommand has --help describing its flags', async () => {
  const expectations: Array<[string[], RegExp[]]> = [
    [['data', '--help'], [/synth/, /download/]],
    [['data', 'synth', '--help'], [/--out <dir>/, /--train <n>/, /--test <m>/, /--seed <s>/]],
    [['data', 'download', '--help'], [/--data-dir <dir>/, /--url <url>/, /--md5 <hex>/, /--timeout-ms <ms>/, /cs\.toronto\.edu/]],
  ];
  for (const [args, patterns] of expectations) {
    let help = '';
    const program = new Command('encourage').exitOverride().configureOutput({ writeOut: (s) => (help += s), writeErr: (s) => (help += s) });
    registerDataCommand(program, { logger: silentLogger });
    // Help exits through commander's override with exit code 0 (main.ts maps that to success).
    await assert.rejects(program.parseAsync(['node', 'encourage', ...args]), (err: unknown) => err instanceof CommanderError && err.code === 'commander.helpDisplayed' && err.exitCode === 0);
    for (const p of patterns) assert.match(help, p, `${args.join(' ')} help lacks ${p}`);
  }
});
