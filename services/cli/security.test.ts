/**
 * Security of a real run (docs/security.md): an `encourage coordinator` and a two-process worker
 * pod (`encourage worker --local-procs 2`) on loopback with mutual TLS everywhere, certificates
 * laid out as a mounted kubernetes.io/tls Secret, and a join token. While the run trains:
 * - a worker without a client certificate cannot join and says why;
 * - /metrics and /healthz of the coordinator and a worker serve no token, no TLS path or PEM;
 * - rogue clients — holding a certificate of the run's CA but not the token — are refused by the
 *   coordinator (no token, made-up worker id, stale generation, oversized message, another
 *   model's fingerprint) and by a worker's collective port (no certificate, stale generation,
 *   oversized and malformed pull requests), each with a clear status.
 * The run must end succeeded, without a restart, with every sample accounted for exactly, and
 * neither its run directory nor any log may contain the token.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { loadCoordinatorProto } from '../coordinator/grpc-service.js';
import { MAX_MESSAGE_BYTES } from '../coordinator/config.js';
import { createTestPki, mountAsSecret, RUN_SERVER_NAME, type TestPki } from '../core/tls-fixture.js';
import { channelCredentials, loadTls, type TlsMaterial } from '../core/tls.js';
import { MAX_REQUEST_MESSAGE_BYTES } from '../worker/collective/collective-options.js';
import { collectiveWire } from '../worker/collective/collective-service.js';
import { ERROR_NAME_TRAILER } from '../worker/collective/outgoing-lane.js';
import { toPullRequest } from '../worker/collective/pull-request.js';
import { freePort, startCoordinator, startProc, startWorker, summaryOf, type Proc } from './chaos-harness.js';
import { lastJsonLine, runCli } from './cli-harness.js';

interface Summary {
  status: string;
  workers: number;
  epochs: number;
  restarts: number;
  workersLost: number;
  samples: { epoch: number; committed: number; expected: number; exact: boolean }[];
}

/** Twice the harness's default, so the run trains long enough for the rogue calls to meet a live ring. */
const TRAIN_EXAMPLES = 768;
const EPOCHS = 2;

type Outcome = { ok: true } | { ok: false; code: grpc.status; details: string; errorName: string | undefined };

/** Log lines of `proc` with message `msg`. */
const logged = (proc: Proc, msg: string) => proc.logs.filter((l) => l['msg'] === msg);

/** Promisified unary call of the generated coordinator client. */
function unary(client: grpc.Client, method: string, request: object): Promise<Outcome> {
  return new Promise((resolve) => {
    const fn = (client as unknown as Record<string, (r: object, m: grpc.Metadata, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null) => void) => void>)[method]!;
    fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e) => resolve(e === null ? { ok: true } : { ok: false, code: e.code, details: e.details, errorName: undefined }));
  });
}

/** One PullChunks call with `bytes` as the raw request message (the codec is bypassed). */
function rawPull(client: grpc.Client, bytes: Buffer): Promise<Outcome> {
  const method = collectiveWire().pullChunks;
  return new Promise((resolve) => {
    const call = client.makeServerStreamRequest(method.path, (b: Buffer) => b, (b: Buffer) => b, bytes, new grpc.Metadata(), { deadline: Date.now() + 10_000 });
    call.on('data', () => resolve({ ok: true }));
    call.on('error', (e: grpc.ServiceError) => resolve({ ok: false, code: e.code, details: e.details, errorName: e.metadata?.get(ERROR_NAME_TRAILER)[0]?.toString() }));
    call.on('end', () => resolve({ ok: true }));
  });
}

function expectRejected(outcome: Outcome, code: grpc.status, details: RegExp, what: string): void {
  assert.equal(outcome.ok, false, `${what}: must be rejected`);
  const o = outcome as Extract<Outcome, { ok: false }>;
  assert.equal(grpc.status[o.code], grpc.status[code], `${what}: ${o.details}`);
  assert.match(o.details, details, what);
}

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url);
  assert.equal(res.status, 200, url);
  return res.text();
}

/** Every secret the run holds: the token, the TLS directory and every PEM file's content. */
function secretsOf(pki: TestPki, token: string): { what: string; value: string }[] {
  const pems = readdirSync(pki.dir).filter((f) => /\.(crt|key)$/.test(f)).map((f) => readFileSync(join(pki.dir, f), 'utf8'));
  // A line from the middle of each PEM body: any leak of the material contains it.
  const bodies = pems.map((p) => p.split('\n')[2]!).filter((l) => l.length > 16);
  return [
    { what: 'the join token', value: token },
    { what: 'the TLS directory', value: pki.dir },
    { what: 'PEM armour', value: '-----BEGIN' },
    ...bodies.map((value) => ({ what: 'PEM content', value })),
  ];
}

/** Command line and environment of the direct children of `pid` (Linux /proc). */
function childProcesses(pid: number): { argv: string; environ: string[] }[] {
  const out: { argv: string; environ: string[] }[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid …"; comm may contain spaces, hence the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      out.push({ argv: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' '), environ: readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0') });
    } catch {
      // the process exited meanwhile
    }
  }
  return out;
}

function assertNoSecrets(text: string, secrets: { what: string; value: string }[], where: string): void {
  for (const { what, value } of secrets) assert.ok(!text.includes(value), `${where} contains ${what}`);
}

test('mutual TLS run: certificate-less and rogue clients are refused, nothing leaks, the run is unharmed', { timeout: 120_000 }, async () => {
  const pki = createTestPki();
  const dir = await mkdtemp(join(tmpdir(), 'security-'));
  const port = await freePort();
  const token = `join-${randomBytes(12).toString('hex')}`;
  // Every process carries one certificate naming only encourage.internal and dials by IP: the
  // server-name override is what makes the handshakes succeed (docs/security.md).
  const secret = mountAsSecret(pki, pki.namedOnly, 'run-secret');
  // The coordinator as a pod would run it: the Secret's directory, the rest from the environment.
  const coordinator = startCoordinator(port, dir, 'security', ['--min-workers', '2', '--max-workers', '2', '--synthetic-train', String(TRAIN_EXAMPLES), '--epochs', String(EPOCHS), '--metrics-port', '0', '--metrics-host', '127.0.0.1', '--tls-dir', secret], {
    ENCOURAGE_JOIN_TOKEN: token, ENCOURAGE_TLS_MUTUAL: 'true', ENCOURAGE_TLS_SERVER_NAME: RUN_SERVER_NAME,
  });
  // The pod's K processes get the TLS flags (and the token) from the --local-procs parent.
  const pod = startProc([
    'worker', '--coordinator', `127.0.0.1:${port}`, '--pod', 'pod-a', '--local-procs', '2', '--join-token', token, '--log-level', 'info', '--coordinator-timeout-ms', '20000',
    '--tls-ca', pki.ca, '--tls-cert', pki.namedOnly.cert, '--tls-key', pki.namedOnly.key, '--tls-mutual', '--tls-server-name', RUN_SERVER_NAME, '--metrics-port', '0', '--metrics-host', '127.0.0.1',
  ]);
  // A worker of the right run (it has the token) but without TLS, hence without a client certificate.
  const plaintext = startWorker(port, 'pod-plain', ['--join-token', token, '--coordinator-timeout-ms', '20000']);
  const rogueTls: TlsMaterial = loadTls({ caFile: pki.ca, certFile: pki.client.cert, keyFile: pki.client.key, mutual: false, serverName: RUN_SERVER_NAME })!;
  const clients: grpc.Client[] = [];
  const client = <T extends grpc.Client>(c: T): T => (clients.push(c), c);
  const guess = `guess-${randomBytes(8).toString('hex')}`;
  try {
    // --- the ring forms over mutual TLS ---
    await coordinator.waitForLog((l) => l['msg'] === 'new ring', 60_000, 'the first ring');
    await pod.waitForLog((l) => l['msg'] === 'joined the ring' && l['local'] === 1, 30_000, 'both pod processes in the ring');
    await pod.waitForLog((l) => l['msg'] === 'joined the ring' && l['local'] === 0, 30_000, 'both pod processes in the ring');
    const registered = logged(coordinator, 'worker registered');
    assert.equal(registered.length, 2);
    const worker0 = registered[0]!;
    const workerId = String(worker0['workerId']);

    // --- the pod's processes got the TLS flags, and the token by environment, not argv (ps shows argv to every user) ---
    const children = childProcesses(pod.child.pid!);
    assert.equal(children.length, 2, 'two worker processes in the pod');
    for (const child of children) {
      assert.match(child.argv, new RegExp(`--tls-ca ${pki.ca} --tls-cert ${pki.namedOnly.cert} --tls-key ${pki.namedOnly.key} --tls-mutual --tls-server-name ${RUN_SERVER_NAME}`));
      assert.ok(!child.argv.includes(token), 'the join token is not on a command line');
      assert.ok(child.environ.includes(`ENCOURAGE_JOIN_TOKEN=${token}`), 'the join token is in the environment');
    }

    // --- metrics and health endpoints serve no secrets ---
    const secrets = secretsOf(pki, token);
    const coordinatorMetrics = String((await coordinator.waitForLog((l) => l['msg'] === 'serving metrics', 10_000))['metricsUrl']);
    const workerMetrics = String((await pod.waitForLog((l) => l['msg'] === 'serving metrics' && l['role'] === 'worker', 10_000))['metricsUrl']);
    for (const url of [coordinatorMetrics, workerMetrics]) {
      const metrics = await fetchText(url);
      const health = await fetchText(url.replace(/\/metrics$/, '/healthz'));
      assert.match(metrics, /^encourage_/m, 'a real exposition');
      assert.match(health, /"status":"ok"/);
      assertNoSecrets(metrics, secrets, url);
      assertNoSecrets(health, secrets, `${url} /healthz`);
    }

    // The rogue calls run concurrently, while the ring trains (the run lasts a few seconds).
    const proto = loadCoordinatorProto();
    const { credentials, options } = channelCredentials(rogueTls);
    const rogue = client(new proto.Coordinator(`127.0.0.1:${port}`, credentials, { ...options, 'grpc.max_send_message_length': -1 }));
    const descriptor = { collectiveAddress: '127.0.0.1:1', pod: 'rogue', localIndex: 0, backend: 'cpu', configFingerprint: '', trainExamples: TRAIN_EXAMPLES, testExamples: 128 };
    const collective = String(worker0['address']);
    const noCert = client(new grpc.Client(collective, grpc.credentials.createSsl(readFileSync(pki.ca)), options));
    const raw = client(new grpc.Client(collective, credentials, { ...options, 'grpc.max_send_message_length': -1 }));
    const stalePull = collectiveWire().pullChunks.requestSerialize(toPullRequest({ kind: 'all-reduce', generation: 0, sequence: 0, step: 0, receiverRank: 1, lane: 0, lanes: 1, dtype: 'float32', totalLength: 10 }));
    const [describe, guessed, fingerprint, madeUp, staleReport, oversized, pullNoCert, pullStale, pullOversized, pullMalformed] = await Promise.all([
      // --- the coordinator: a certificate of the run's CA, but no token ---
      unary(rogue, 'DescribeRun', { joinToken: '' }),
      unary(rogue, 'Register', { joinToken: guess, worker: descriptor }),
      // The token is right but the worker was built for another model/loss: refused before it counts.
      unary(rogue, 'Register', { joinToken: token, worker: { ...descriptor, configFingerprint: 'resnet18-ce-0000' } }),
      unary(rogue, 'Heartbeat', { workerId: 'made-up-worker', generation: 1 }),
      // A report in a real worker's name (ids are random UUIDs; this client read one from the log), of a stale generation.
      unary(rogue, 'ReportStep', { workerId, generation: 0, rank: 0, step: 1, epoch: 0, examples: 16, lossSum: 1e6 }),
      // One byte over the bound: refused by grpc-js before any handler runs (the token check would say PERMISSION_DENIED).
      unary(rogue, 'Register', { joinToken: guess, worker: { ...descriptor, pod: 'x'.repeat(MAX_MESSAGE_BYTES + 1) } }),
      // --- a worker's collective port ---
      rawPull(noCert, stalePull),
      rawPull(raw, stalePull),
      rawPull(raw, Buffer.alloc(MAX_REQUEST_MESSAGE_BYTES + 1, 0x0a)),
      // An unknown field (15) with wire type 7, which protobuf does not have.
      rawPull(raw, Buffer.from([0x7f, 0x01])),
    ]);
    expectRejected(describe, grpc.status.PERMISSION_DENIED, /join rejected: missing or wrong join token/, 'DescribeRun without a token');
    expectRejected(guessed, grpc.status.PERMISSION_DENIED, /join rejected/, 'Register with a guessed token');
    expectRejected(fingerprint, grpc.status.PERMISSION_DENIED, /configured for another model\/loss/, 'Register with another fingerprint');
    expectRejected(madeUp, grpc.status.NOT_FOUND, /unknown worker "made-up-worker"/, 'a made-up worker id');
    expectRejected(staleReport, grpc.status.FAILED_PRECONDITION, new RegExp(`worker ${workerId} sent generation 0, current generation is 1`), 'a stale ReportStep');
    expectRejected(oversized, grpc.status.RESOURCE_EXHAUSTED, /larger than max/i, 'a Register over MAX_MESSAGE_BYTES');
    expectRejected(pullNoCert, grpc.status.UNAVAILABLE, /certificate required|No connection established/, 'a pull without a client certificate');
    expectRejected(pullStale, grpc.status.FAILED_PRECONDITION, /rejected pull request from rank 1 .*generation is 0, expected 1/, 'a pull request of generation 0');
    assert.equal((pullStale as { errorName?: string }).errorName, 'StaleGenerationError');
    expectRejected(pullOversized, grpc.status.RESOURCE_EXHAUSTED, /larger than max/i, 'a pull request over MAX_REQUEST_MESSAGE_BYTES');
    expectRejected(pullMalformed, grpc.status.INVALID_ARGUMENT, /rejected pull request from rank \?: encoding is "2 bytes that do not decode \(.+\)", expected "a PullRequest message"/, 'a malformed pull request');

    // --- a worker without a client certificate cannot join, and says why ---
    const refused = await plaintext.done;
    assert.notEqual(refused.code, 0, 'the plaintext worker must not join');
    assert.match(refused.stderr, new RegExp(`encourage: coordinator 127\\.0\\.0\\.1:${port} accepts connections but no gRPC session came up .*TLS off.*--tls-mutual needs a client certificate`));
    for (const c of clients.splice(0)) c.close();

    // --- the run is unharmed ---
    const done = await coordinator.done;
    assert.equal(done.code, 0, done.stderr.slice(-3000));
    const summary = summaryOf<Summary>(done);
    assert.equal(summary.status, 'succeeded');
    assert.equal(summary.workers, 2);
    assert.equal(summary.restarts, 0, 'no rogue request disturbed the ring');
    assert.equal(summary.workersLost, 0);
    assert.equal(summary.epochs, EPOCHS);
    assert.deepEqual(summary.samples.map((s) => [s.epoch, s.committed, s.exact]), Array.from({ length: EPOCHS }, (_, i) => [i + 1, TRAIN_EXAMPLES, true]), 'every sample of every epoch committed exactly once');
    assert.equal(logged(coordinator, 'worker registered').length, 2, 'no rogue registration had an effect');
    const podDone = await pod.done;
    assert.equal(podDone.code, 0, podDone.stderr.slice(-3000));
    assert.equal(logged(pod, 'joined the ring').length, 2, 'both pod processes trained in one generation');

    // --- no secret in the run directory or in any log ---
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { coordinator: { joinToken: unknown; tls: unknown } };
    assert.deepEqual([config.coordinator.joinToken, config.coordinator.tls], ['<set>', '<set>']);
    for (const file of ['config.json', 'metrics.jsonl']) assertNoSecrets(await readFile(join(dir, file), 'utf8'), secrets, file);
    for (const [name, text] of [['coordinator', done.stderr + done.stdout], ['worker pod', podDone.stderr + podDone.stdout], ['refused worker', refused.stderr]] as const) {
      assertNoSecrets(text, secrets, `the ${name}'s output`);
      assert.ok(!text.includes(guess), `the ${name}'s output echoes a guessed token`);
    }
    // The rejections are on record (method and status, no secret).
    const rejected = logged(coordinator, 'request rejected').map((l) => `${String(l['method'])} ${String(l['code'])}`);
    for (const r of ['DescribeRun PERMISSION_DENIED', 'Register PERMISSION_DENIED', 'Heartbeat NOT_FOUND', 'ReportStep FAILED_PRECONDITION']) assert.ok(rejected.includes(r), `${r} logged: ${rejected.join(', ')}`);
  } finally {
    for (const c of clients) c.close();
    for (const p of [plaintext, coordinator]) p.child.kill('SIGKILL');
    // SIGTERM: the --local-procs parent forwards it to its processes.
    pod.child.kill('SIGTERM');
    await Promise.race([pod.done, new Promise((r) => setTimeout(r, 5_000))]);
    pod.child.kill('SIGKILL');
    rmSync(pki.dir, { recursive: true, force: true });
  }
});

test('encourage train --workers 2 needs no TLS: ENCOURAGE_TLS_* meant for pods are ignored, a fresh join token guards the loopback run', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'local-security-'));
  const result = await runCli(
    ['train', '--workers', '2', '--data', 'synthetic', '--synthetic-train', '128', '--synthetic-test', '32', '--model', 'cnn-nobn', '--epochs', '1', '--batch-size', '16', '--experiment', 'local-security', '--run-dir', dir, '--no-report', '--log-level', 'warn'],
    // Files that do not exist: if the launcher or its workers read these, the run fails.
    { env: { ENCOURAGE_TLS_DIR: join(dir, 'no-such-secret'), ENCOURAGE_TLS_MUTUAL: 'true', ENCOURAGE_TLS_SERVER_NAME: RUN_SERVER_NAME } },
  );
  assert.equal(result.code, 0, result.stderr.slice(-3000));
  assert.equal(lastJsonLine<{ workers: number }>(result.stdout).workers, 2);
  const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as { coordinator: { joinToken: unknown; tls: unknown; host: unknown } };
  assert.deepEqual([config.coordinator.host, config.coordinator.tls, config.coordinator.joinToken], ['127.0.0.1', null, '<set>'], 'loopback, plaintext, with a token nobody set');
});
