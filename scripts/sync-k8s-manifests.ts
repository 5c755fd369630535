/**
 * Compare (default) or rewrite (`--write`) the plain manifests in k8s/operator/ against the
 * chart's rendering read from stdin: `helm template encourage helm/encourage -n encourage |
 * node dist/scripts/sync-k8s-manifests.js [--write]`. One file per chart template (the helm test
 * hook excluded); k8s/operator/00-namespace.yaml is hand-written and left alone. Prints one JSON
 * line {files, differing, stale}; exits 1 when not in sync (without --write).
 */
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { splitHelmOutput, GENERATED_HEADER } from '../services/coordinator/k8s/helm-output.js';
import { readStdin } from '../services/cli/io.js';

const write = process.argv.includes('--write');
const dir = resolve(process.argv.find((a) => a.startsWith('--dir='))?.slice('--dir='.length) ?? 'k8s/operator');
const rendered = splitHelmOutput(await readStdin(), 'encourage');

const differing: string[] = [];
for (const [file, text] of rendered) {
  const path = join(dir, file);
  const current = await readFile(path, 'utf8').catch(() => null);
  if (current === text) continue;
  differing.push(file);
  if (write) await writeFile(path, text);
}
// Generated files whose template no longer renders by default.
const stale: string[] = [];
for (const file of await readdir(dir)) {
  if (!file.endsWith('.yaml') || rendered.has(file)) continue;
  if (!(await readFile(join(dir, file), 'utf8')).startsWith(GENERATED_HEADER)) continue;
  stale.push(file);
  if (write) await rm(join(dir, file));
}
process.stdout.write(`${JSON.stringify({ files: rendered.size, differing, stale, written: write })}\n`);
if (!write && (differing.length > 0 || stale.length > 0)) process.exitCode = 1;
