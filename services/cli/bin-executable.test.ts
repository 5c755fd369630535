/**
 * The `encourage` command keeps working after a rebuild: the build (`npm run build`, which
 * `npm test` and `npm run main` run) leaves package.json's bin executable, so `npm link`'s
 * `encourage` and `npx encourage` run it — tsc alone writes it with mode 0644 ("Permission denied").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
/** The repository root (this file is dist/services/cli/bin-executable.test.js). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BUILD_STEP = join(ROOT, 'dist', 'scripts', 'make-bins-executable.js');

test('after a build the encourage bin is executable and `npx --no-install encourage --version` runs it', async () => {
  const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; scripts: Record<string, string> };
  assert.match(manifest.scripts['build']!, /make-bins-executable\.js/, 'the build runs the step');
  const bin = join(ROOT, manifest.bin['encourage']!);
  const mode = (await stat(bin)).mode;
  assert.equal(mode & 0o111, 0o111, `${bin} has mode ${(mode & 0o777).toString(8)}`);
  const { stdout } = await run('npx', ['--no-install', 'encourage', '--version'], { cwd: ROOT, timeout: 60_000 });
  assert.equal(stdout.trim(), manifest.version);
});

test('the build step makes every bin of a package executable and names a missing one', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bins-'));
  await mkdir(join(dir, 'out'));
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'p', bin: { a: 'out/a.js', b: './out/b.js' } }));
  for (const f of ['a.js', 'b.js']) {
    await writeFile(join(dir, 'out', f), '#!/usr/bin/env node\nconsole.log("hi")\n');
    await chmod(join(dir, 'out', f), 0o640);
  }
  await run(process.execPath, [BUILD_STEP, dir]);
  for (const f of ['a.js', 'b.js']) assert.equal((await stat(join(dir, 'out', f))).mode & 0o777, 0o751, f);
  const { stdout } = await run(join(dir, 'out', 'a.js'), []);
  assert.equal(stdout, 'hi\n');

  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'p', bin: 'out/missing.js' }));
  await assert.rejects(run(process.execPath, [BUILD_STEP, dir]), (err: { code?: number; stderr?: string }) => err.code === 1 && /bin target .*out\/missing\.js .* does not exist/.test(err.stderr ?? ''));
});
