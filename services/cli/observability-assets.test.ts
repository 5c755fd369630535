/**
 * The shipped observability assets against the code that feeds them: the Grafana dashboard's
 * structure and variables, the Prometheus rules (`promtool check rules`, `promtool test rules`),
 * that every metric the dashboard and rules use is one the coordinator or a worker exports, and
 * that docs/observability.md describes every exported metric and every alert.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { silentLogger } from '../core/logging.js';
import { dashboardPanels, dashboardQueries, readDashboard, RULES_DIR } from '../core/metrics/dashboard.js';
import { runTool } from '../core/metrics/prometheus-harness.js';
import { RunDir } from '../core/training/run-dir.js';
import { CoordinatorMetrics } from '../coordinator/metrics/coordinator-metrics.js';
import { WorkerMetrics } from '../worker/metrics/worker-metrics.js';

const DOCS = fileURLToPath(new URL('../../../docs/observability.md', import.meta.url));

/** Every metric family the project exports (name → type), from real coordinator and worker registries. */
async function exportedMetrics(): Promise<Map<string, string>> {
  const coordinator = new CoordinatorMetrics(
    { config: { experiment: 'x', model: 'cnn-small', loss: { preset: 'el' }, confidenceEdges: [0, 0.5, 1], epochs: 1 }, runDir: new RunDir('/nonexistent'), cluster: () => ({ generation: 0, worldSize: 0, restarts: 0, workersLost: 0, backend: 'cpu' }) },
    silentLogger,
  );
  const worker = new WorkerMetrics();
  const out = new Map<string, string>();
  for (const reg of [coordinator.registry, worker.registry]) for (const m of await reg.getMetricsAsJSON()) if (m.name.startsWith('encourage_')) out.set(m.name, String(m.type));
  coordinator.close();
  return out;
}

/** Metric names used by a PromQL expression (histogram series mapped to their family). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/\b(encourage_[a-z0-9_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
}

interface RuleFile {
  groups: { name: string; rules: { record?: string; alert?: string; expr: string }[] }[];
}

test('the dashboard: datasource and experiment variables, every query filtered by experiment, panels laid out', async () => {
  const dash = await readDashboard();
  assert.equal(dash.uid, 'encourage');
  const vars = new Map(dash.templating.list.map((v) => [v.name, v]));
  assert.equal(vars.get('datasource')?.type, 'datasource');
  assert.equal(vars.get('datasource')?.query, 'prometheus');
  const exp = vars.get('experiment');
  assert.equal(exp?.type, 'query');
  assert.deepEqual([exp?.multi, exp?.includeAll], [true, true], 'CE and EL runs side by side');
  assert.equal(exp?.datasource?.uid, '${datasource}');

  const panels = dashboardPanels(dash);
  const ids = new Set<number>();
  const cells = new Set<string>();
  for (const p of panels) {
    assert.ok(!ids.has(p.id), `panel id ${p.id} repeated`);
    ids.add(p.id);
    assert.equal(p.datasource?.uid, '${datasource}', `panel ${p.title}: datasource`);
    assert.ok((p.targets ?? []).length > 0, `panel ${p.title} has queries`);
    for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${datasource}', `panel ${p.title} ${t.refId}: datasource`);
    const g = p.gridPos;
    assert.ok(g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `panel ${p.title}: gridPos ${JSON.stringify(g)}`);
    for (let x = g.x; x < g.x + g.w; x++) for (let y = g.y; y < g.y + g.h; y++) {
      assert.ok(!cells.has(`${x},${y}`), `panel ${p.title} overlaps another at ${x},${y}`);
      cells.add(`${x},${y}`);
    }
  }
  for (const q of dashboardQueries(dash)) {
    if (q.panel.startsWith('variable')) continue;
    for (const sel of q.expr.matchAll(/\b(encourage_[a-z0-9_]+)(\{[^}]*\})?/g)) {
      assert.match(sel[2] ?? '', /experiment=~"\$experiment"/, `${q.panel} ${q.refId}: ${sel[1]} is not filtered by $experiment`);
    }
  }
  // The panels the issue asks for.
  const titles = panels.map((p) => p.title.toLowerCase()).join('\n');
  for (const want of [/accuracy/, /test accuracy by confidence bin/, /loss and its parts/, /gradient mass by p_y bin/, /high vs low confidence/, /samples per second/, /step time breakdown/, /all-reduce bandwidth/, /workers, generation and restarts/, /checkpoint duration/]) {
    assert.match(titles, want);
  }
});

test('every metric the dashboard and the rules use is exported, and docs/observability.md describes them all', async () => {
  const exported = await exportedMetrics();
  assert.ok(exported.size >= 40, `${exported.size} metrics`);
  const dash = await readDashboard();
  const rules = parseYaml(await readFile(join(RULES_DIR, 'rules.yaml'), 'utf8')) as RuleFile;
  const used = new Set<string>();
  for (const q of dashboardQueries(dash)) for (const m of metricsIn(q.expr)) used.add(m);
  for (const g of rules.groups) for (const r of g.rules) for (const m of metricsIn(r.expr)) used.add(m);
  for (const m of used) assert.ok(exported.has(m), `${m} is used by the dashboard or rules but no process exports it`);
  // Dashboards and alerts are only as good as what they cover: the headline figures are used.
  for (const m of ['encourage_test_accuracy_ratio', 'encourage_logit_grad_norm_total', 'encourage_param_grad_norm', 'encourage_worker_step_phase_duration_seconds', 'encourage_worker_allreduce_sent_bytes_total', 'encourage_workers_lost_total', 'encourage_info']) {
    assert.ok(used.has(m), `${m} is on the dashboard or in the rules`);
  }

  const docs = await readFile(DOCS, 'utf8');
  for (const [name, type] of exported) {
    const row = docs.split('\n').find((l) => l.startsWith('|') && l.includes(`\`${name}\``));
    assert.ok(row !== undefined, `docs/observability.md has no table row for ${name}`);
    assert.match(row, new RegExp(`\\|\\s*${type}\\s*\\|`), `docs/observability.md: ${name} is a ${type}`);
  }
  for (const g of rules.groups) for (const r of g.rules) assert.ok(docs.includes(r.alert ?? r.record!), `docs/observability.md mentions ${r.alert ?? r.record}`);
});

test('promtool checks the rule file and passes its unit tests', async () => {
  const check = await runTool('promtool', ['check', 'rules', 'rules.yaml'], '', RULES_DIR);
  assert.equal(check.code, 0, `${check.stdout}${check.stderr}`);
  assert.match(check.stdout, /SUCCESS: \d+ rules found/);
  const unit = await runTool('promtool', ['test', 'rules', 'rules.test.yaml'], '', RULES_DIR);
  assert.equal(unit.code, 0, `${unit.stdout}${unit.stderr}`);
  assert.match(unit.stdout, /SUCCESS/);
});
