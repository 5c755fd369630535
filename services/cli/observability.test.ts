/**
 * End to end with a real Prometheus: two short local distributed runs (EL with 2 workers, CE with
 * 1) serve /metrics on fixed loopback ports; Prometheus scrapes them every second through the
 * file_sd targets files the launcher writes; then every PromQL expression of the Grafana
 * dashboard is evaluated through the HTTP API and must return data for both experiments, the
 * recording rules must return data and the alerts must stay silent on these healthy runs.
 * The live expositions of a coordinator and a worker pass `promtool check metrics`.
 * Needs Debian's `prometheus` package (`.ci/run` installs it); fails with a clear message without.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { builtinIntervals, dashboardQueries, readDashboard, RULES_DIR, substituteVariables } from '../core/metrics/dashboard.js';
import { checkMetrics, startPrometheus, type RunningPrometheus } from '../core/metrics/prometheus-harness.js';
import { startCli, type CliResult } from './cli-harness.js';
import { PROMETHEUS_TARGETS_FILE } from './local-launcher.js';

/**
 * Scrape every 2 s with a 2 s timeout: a worker answers /metrics between steps (TF.js compute
 * holds the event loop for a whole forward/backward), which on a loaded 2-core machine can take
 * over a second.
 */
const SCRAPE_SECONDS = 2;
const READY_TIMEOUT_MS = 60_000;

/**
 * A base port with `count` consecutive free ports after it (bound and released), drawn below
 * Linux's default ephemeral range (32768–60999) so that no process's port-0 bind (gRPC, the
 * collective) can take it between this check and the run's bind.
 */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const ok = await Promise.all(Array.from({ length: count }, (_, i) => portFree(base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function vector(prom: RunningPrometheus, expr: string): Promise<VectorSample[]> {
  const r = await prom.query(expr);
  assert.equal(r.resultType, 'vector', `${expr}: ${r.resultType}`);
  return r.result as VectorSample[];
}

/** Poll `check` until it is true; the message says what never happened. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs: number, diagnostics: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${diagnostics()}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('every dashboard query returns data from a real Prometheus scraping local distributed runs', { timeout: 120_000 }, async () => {
  const root = await mkdtemp(join(tmpdir(), 'obs-'));
  const runs = [
    { experiment: 'obs-el', loss: 'el', workers: 2 },
    { experiment: 'obs-ce', loss: 'ce', workers: 1 },
  ];
  const started: { experiment: string; base: number; dir: string; proc: ReturnType<typeof startCli> }[] = [];
  let prom: RunningPrometheus | null = null;
  try {
    const bases = [];
    for (const r of runs) bases.push(await freePortRange(1 + r.workers));
    const dirs = runs.map((r) => join(root, r.experiment));
    // The launcher writes each run's targets file; Prometheus watches for it (file_sd).
    await Promise.all(dirs.map((d) => mkdir(d, { recursive: true })));
    prom = await startPrometheus([
      'global:',
      `  scrape_interval: ${SCRAPE_SECONDS}s`,
      `  scrape_timeout: ${SCRAPE_SECONDS}s`,
      'scrape_configs:',
      '  - job_name: encourage',
      '    file_sd_configs:',
      `      - files: [${dirs.map((d) => JSON.stringify(join(d, PROMETHEUS_TARGETS_FILE))).join(', ')}]`,
      '        refresh_interval: 1s',
      '',
    ].join('\n'));
    for (const [i, r] of runs.entries()) {
      const proc = startCli([
        'train', '--workers', String(r.workers), '--data', 'synthetic', '--synthetic-train', '256', '--synthetic-test', '128', '--batch-size', '32',
        '--model', 'cnn-small', '--loss', r.loss, '--epochs', '60', '--param-grad-every', '2', '--experiment', r.experiment, '--run-dir', dirs[i]!,
        '--metrics-port', String(bases[i]), '--log-level', 'info',
      ]);
      started.push({ experiment: r.experiment, base: bases[i]!, dir: dirs[i]!, proc });
    }
    const p = prom;
    const stderrOf = new Map(started.map((s) => [s.experiment, [] as string[]]));
    for (const s of started) s.proc.child.stderr!.on('data', (d: Buffer) => stderrOf.get(s.experiment)!.push(d.toString()));
    const tails = () => [...stderrOf].map(([e, chunks]) => `--- ${e}:\n${chunks.join('').slice(-1500)}`).join('\n') + `\n--- prometheus:\n${p.log().slice(-1500)}`;

    // The targets files list the coordinator and every worker at the fixed ports.
    for (const [i, s] of started.entries()) {
      await until(`${s.experiment}'s targets file`, async () => readFile(join(s.dir, PROMETHEUS_TARGETS_FILE), 'utf8').then(() => true, () => false), 20_000, tails);
      const groups = JSON.parse(await readFile(join(s.dir, PROMETHEUS_TARGETS_FILE), 'utf8')) as { targets: string[]; labels: Record<string, string> }[];
      assert.deepEqual(groups.flatMap((g) => g.targets), Array.from({ length: 1 + runs[i]!.workers }, (_, k) => `127.0.0.1:${s.base + k}`));
    }

    // Wait until both runs have evaluated, checkpointed and sampled parameter gradients, and
    // every target has been scraped a few times.
    const targetCount = runs.reduce((n, r) => n + 1 + r.workers, 0);
    await until('evaluations, checkpoints and parameter-gradient samples of both runs in Prometheus', async () => {
      const ready = await Promise.all([
        vector(p, 'count by (experiment) (encourage_test_accuracy_ratio)'),
        vector(p, 'count by (experiment) (encourage_worker_checkpoint_duration_seconds_count > 0)'),
        vector(p, 'count by (experiment) (encourage_param_grad_norm)'),
        vector(p, `count(count_over_time(up[1m]) >= 4 and up == 1)`),
      ]);
      return ready.slice(0, 3).every((v) => v.length === runs.length) && Number(ready[3]![0]?.value[1] ?? 0) === targetCount;
    }, READY_TIMEOUT_MS, tails);
    const targets = await p.targets();
    assert.equal(targets.length, targetCount);
    for (const t of targets) assert.equal(t.health, 'up', `${t.scrapeUrl}: ${t.lastError}`);

    // The live expositions of a coordinator and a worker are lint-clean; /healthz answers.
    for (const port of [started[0]!.base, started[0]!.base + 1]) {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const lint = await checkMetrics(text);
      assert.ok(lint.ok, `promtool check metrics on :${port}: ${lint.findings}`);
      const health = (await (await fetch(`http://127.0.0.1:${port}/healthz`)).json()) as { status: string; role: string };
      assert.equal(health.status, 'ok');
      assert.equal(health.role, port === started[0]!.base ? 'coordinator' : 'worker');
    }

    // Every dashboard query, with Grafana's variables substituted, returns data for both runs.
    const vars = { ...builtinIntervals(SCRAPE_SECONDS, 10), experiment: runs.map((r) => r.experiment).join('|') };
    const queries = dashboardQueries(await readDashboard());
    assert.ok(queries.length >= 30, `${queries.length} queries`);
    for (const q of queries) {
      const expr = substituteVariables(q.expr, vars);
      // A window can fall on an evaluation pause (rates of 0, ratios of 0/0); retry briefly.
      let last: VectorSample[] = [];
      for (let attempt = 0; attempt < 6; attempt++) {
        last = await vector(p, expr);
        const finite = last.filter((s) => Number.isFinite(Number(s.value[1])));
        const experiments = new Set(finite.map((s) => s.metric['experiment']));
        if (runs.every((r) => experiments.has(r.experiment))) break;
        last = [];
        await new Promise((r) => setTimeout(r, 1000));
      }
      if (last.length === 0) {
        const progress = await vector(p, 'time() - encourage_last_step_timestamp_seconds or count_over_time(up[1m]) or sum_over_time(up[1m])');
        assert.fail(`${q.panel} / ${q.refId} returned no finite data for both experiments:\n${expr}\n${JSON.stringify(await vector(p, expr))}\nprogress: ${JSON.stringify(progress)}\n${tails()}`);
      }
    }

    // The rules against live data: recording rules produce series, alerts stay silent.
    const rules = parseYaml(await readFile(join(RULES_DIR, 'rules.yaml'), 'utf8')) as { groups: { rules: { record?: string; alert?: string; expr: string }[] }[] };
    for (const r of rules.groups.flatMap((g) => g.rules)) {
      const result = await vector(p, r.expr);
      if (r.record !== undefined) assert.ok(result.length > 0, `recording rule ${r.record} returned no data`);
      else assert.deepEqual(result, [], `alert ${r.alert} fires on a healthy run`);
    }

    // Stop the runs; their logs carry the run's fields (workers and coordinator).
    for (const s of started) s.proc.child.kill('SIGTERM');
    const results: CliResult[] = await Promise.all(started.map((s) => s.proc.done));
    const lines = results.flatMap((r) => r.stderr.split('\n')).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(lines.some((l) => l['pod'] === 'local' && l['experiment'] === 'obs-el' && typeof l['rank'] === 'number' && typeof l['generation'] === 'number' && typeof l['step'] === 'number'), 'a worker line with experiment, rank, generation and step');
    assert.ok(lines.some((l) => l['component'] === 'coordinator' && l['experiment'] === 'obs-el' && l['generation'] === 1 && typeof l['step'] === 'number' && (l['step'] as number) > 0), 'a coordinator line with experiment, generation and step');
    assert.ok(lines.some((l) => l['msg'] === 'serving metrics' && l['metricsUrl'] === `http://127.0.0.1:${started[0]!.base + 2}/metrics`), 'workers log their metrics address');
  } finally {
    for (const s of started) if (s.proc.child.exitCode === null && s.proc.child.signalCode === null) s.proc.child.kill('SIGTERM');
    await Promise.all(started.map((s) => Promise.race([s.proc.done, new Promise((r) => setTimeout(r, 15_000))])));
    for (const s of started) if (s.proc.child.exitCode === null && s.proc.child.signalCode === null) s.proc.child.kill('SIGKILL');
    await prom?.stop();
  }
});
