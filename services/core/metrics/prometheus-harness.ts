/**
 * Test harness: the real Prometheus tools. `promtool` checks expositions and rule files;
 * `prometheus` runs on loopback with a temporary config and storage directory and answers
 * queries through its HTTP API. Used by the observability tests; not part of the shipped command.
 * Both binaries come from Debian's `prometheus` package (`.ci/run` installs it).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../net/free-port.js';
export { freePort };

export interface ToolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A Prometheus tool is not installed. */
export class PrometheusToolMissingError extends Error {
  override readonly name = 'PrometheusToolMissingError';
  constructor(readonly tool: string) {
    super(`${tool} not found on PATH: install Debian's "prometheus" package (apt-get install -y prometheus; .ci/run does this)`);
  }
}

/** Run a tool with `args`, writing `stdin`; rejects with PrometheusToolMissingError when absent. */
export function runTool(tool: 'promtool' | 'prometheus', args: readonly string[], stdin = '', cwd?: string): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(cwd === undefined ? {} : { cwd }) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new PrometheusToolMissingError(tool) : err));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined); // the tool may exit before reading everything
    child.stdin.end(stdin);
  });
}

/** `promtool check metrics` on an exposition: resolves with its lint findings ('' when clean). */
export async function checkMetrics(exposition: string): Promise<{ ok: boolean; findings: string }> {
  const r = await runTool('promtool', ['check', 'metrics'], exposition);
  return { ok: r.code === 0, findings: `${r.stdout}${r.stderr}`.trim() };
}

/** Instant-query result of the HTTP API (`resultType` vector or scalar). */
export interface QueryResult {
  readonly resultType: string;
  readonly result: unknown;
}

export interface RunningPrometheus {
  readonly url: string;
  /** Evaluate `expr` now (or at `timeSeconds`); throws on an API error, naming the expression. */
  query(expr: string, timeSeconds?: number): Promise<QueryResult>;
  /** Scrape targets as /api/v1/targets reports them. */
  targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]>;
  /** Prometheus' own stderr so far (for failure messages). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Start `prometheus` on 127.0.0.1 with `config` (YAML text) and a temporary storage directory.
 * Resolves once /-/ready answers 200.
 */
export async function startPrometheus(config: string, readyTimeoutMs = 30_000): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'prometheus-'));
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
    // Debian's build looks for console templates under /etc; none are needed.
    `--web.console.templates=${dir}`, `--web.console.libraries=${dir}`, '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const spawnError = new Promise<never>((_, reject) => child.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new PrometheusToolMissingError('prometheus') : err)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + readyTimeoutMs;
  try {
    for (;;) {
      const ready = await Promise.race([spawnError, fetch(`${url}/-/ready`).then((r) => r.status === 200, () => false)]);
      if (ready) break;
      if (child.exitCode !== null) throw new Error(`prometheus exited with code ${child.exitCode}: ${stderr.slice(-2000)}`);
      if (Date.now() > deadline) throw new Error(`prometheus not ready after ${readyTimeoutMs} ms: ${stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    async query(expr, timeSeconds) {
      const params = new URLSearchParams({ query: expr, ...(timeSeconds === undefined ? {} : { time: String(timeSeconds) }) });
      const res = await fetch(`${url}/api/v1/query?${params.toString()}`);
      const body = (await res.json()) as { status: string; data?: QueryResult; error?: string; errorType?: string };
      if (body.status !== 'success' || body.data === undefined) throw new Error(`query failed (${body.errorType}: ${body.error}): ${expr}`);
      return body.data;
    },
    async targets() {
      const res = await fetch(`${url}/api/v1/targets`);
      const body = (await res.json()) as { data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] } };
      return body.data.activeTargets;
    },
    log: () => stderr,
    stop,
  };
}

/** One sample line of a text exposition. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parse the sample lines of a Prometheus text exposition (comments skipped). */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (m === null) throw new Error(`not an exposition sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ name: m[1]!, labels, value: m[3] === 'NaN' ? Number.NaN : m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]) });
  }
  return out;
}

/**
 * The value of the one sample named `name` whose labels include `labels`; throws when there is
 * none or more than one (so a test names what it expected).
 */
export function sampleValue(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`expected one sample ${name}${JSON.stringify(labels)}, found ${hits.length}`);
  return hits[0]!.value;
}
