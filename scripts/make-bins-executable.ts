/**
 * Build step (`npm run build`, hence `npm test` and `npm run main`): give every `bin` of a
 * package.json its execute bits. tsc writes plain files (mode 0644), so after `rm -rf dist && tsc`
 * the `encourage` bin (dist/services/cli/main.js) stopped working as a command — through `npm link`
 * or `npx encourage` it failed with "Permission denied" until npm next installed the package.
 *
 * Usage: node dist/scripts/make-bins-executable.js [package-dir]   (default: the current directory)
 */
import { chmod, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** The bin targets of the package in `dir`, as absolute paths. */
export async function binTargets(dir: string): Promise<string[]> {
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { bin?: string | Record<string, string> };
  const bin = manifest.bin ?? {};
  return (typeof bin === 'string' ? [bin] : Object.values(bin)).map((p) => resolve(dir, p));
}

/** chmod a+x every bin target of the package in `dir`; throws naming a target that is missing. */
export async function makeBinsExecutable(dir: string): Promise<string[]> {
  const targets = await binTargets(dir);
  for (const target of targets) {
    let mode: number;
    try {
      mode = (await stat(target)).mode;
    } catch (err) {
      throw new Error(`bin target ${target} of ${join(dir, 'package.json')} does not exist (was the build run?)`, { cause: err });
    }
    await chmod(target, (mode & 0o7777) | 0o111);
  }
  return targets;
}

try {
  await makeBinsExecutable(resolve(process.argv[2] ?? '.'));
} catch (err) {
  process.stderr.write(`make-bins-executable: ${(err as Error).message}\n`);
  process.exitCode = 1;
}
