/**
 * scripts/check-chart.sh: without helm it must say so plainly, list what it skipped and succeed;
 * with helm (on PATH, or HELM=/path/to/helm) it must pass on the committed chart and k8s/.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SCRIPT = 'scripts/check-chart.sh';

function helmBinary(): string | undefined {
  const candidate = process.env['HELM'] ?? 'helm';
  return spawnSync(candidate, ['version', '--short'], { encoding: 'utf8' }).status === 0 ? candidate : undefined;
}

test('without helm the script says so, lists the skipped checks and exits 0', () => {
  const res = spawnSync('bash', [SCRIPT], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, HELM: 'helm-that-does-not-exist' } });
  assert.equal(res.status, 0, res.stderr);
  assert.match(res.stdout, /^check-chart: helm is not installed .*SKIPPED:$/m);
  for (const skipped of ['helm lint --strict', 'values.schema.json', 'helm template | schema validation', 'k8s/operator/']) assert.ok(res.stdout.includes(skipped), skipped);
});

const helm = helmBinary();
test('with helm: lint --strict, schema negatives, rendered objects validate, k8s/operator/ in sync', { skip: helm === undefined ? 'helm is not installed (set HELM=/path/to/helm)' : false, timeout: 120_000 }, () => {
  const res = spawnSync('bash', [SCRIPT], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, HELM: helm } });
  assert.equal(res.status, 0, `${res.stdout}\n${res.stderr}`);
  assert.match(res.stdout, /^check-chart: OK$/m);
});
