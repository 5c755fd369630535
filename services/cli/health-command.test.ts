/**
 * `encourage health` — the command behind the chart's `helm test` hook — as a real process
 * against a real grpc.health.v1 server on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { lastJsonLine, runCli } from './cli-harness.js';
import { probeHealth } from '../coordinator/health-probe.js';
import { HealthCheckError } from '../coordinator/errors.js';
import { ConfigError } from '../core/errors.js';
import { Command, CommanderError } from 'commander';
import { registerHealthCommand } from './health-command.js';

async function startHealthServer(): Promise<{ server: grpc.Server; health: HealthImplementation; address: string }> {
  const server = new grpc.Server();
  const health = new HealthImplementation({ '': 'SERVING', 'encourage.v1.Coordinator': 'NOT_SERVING' });
  health.addToServer(server);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  return { server, health, address: `127.0.0.1:${port}` };
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

test('SERVING exits 0; NOT_SERVING exits 1 and says so; status changes are seen', async () => {
  const { server, health, address } = await startHealthServer();
  try {
    const ok = await runCli(['health', '--address', address]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(lastJsonLine(ok.stdout), { address, service: '', status: 'SERVING' });
    const down = await runCli(['health', '--address', address, '--service', 'encourage.v1.Coordinator']);
    assert.equal(down.code, 1);
    assert.equal(lastJsonLine(down.stdout)['status'], 'NOT_SERVING');
    health.setStatus('encourage.v1.Coordinator', 'SERVING');
    assert.equal(await probeHealth(address, { service: 'encourage.v1.Coordinator', timeoutMs: 2000 }), 'SERVING');
  } finally {
    server.forceShutdown();
  }
});

test('no answer is an error naming the address and the reason, within the deadline', async () => {
  const { server, address } = await startHealthServer();
  try {
    await assert.rejects(probeHealth(address, { service: 'no.such.Service', timeoutMs: 2000 }), (err: unknown) => err instanceof HealthCheckError && err.address === address && /no\.such\.Service/.test(err.message));
  } finally {
    server.forceShutdown();
  }
  const port = await closedPort();
  const started = Date.now();
  const res = await runCli(['health', '--address', `127.0.0.1:${port}`, '--timeout-ms', '800']);
  assert.equal(res.code, 1);
  assert.match(res.stderr, new RegExp(`health check of 127\\.0\\.0\\.1:${port} .*failed: .*[Dd]eadline`));
  assert.ok(Date.now() - started < 8000, 'bounded by the deadline');
});

test('bad flags are errors naming the value; --help lists the flags', async () => {
  const program = () => {
    let out = '';
    const p = new Command('encourage').exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
    registerHealthCommand(p);
    return { p, out: () => out };
  };
  await assert.rejects(program().p.parseAsync(['node', 'encourage', 'health', '--address', 'no-port']), (err: unknown) => err instanceof ConfigError && /invalid address: "no-port"/.test(err.message));
  await assert.rejects(program().p.parseAsync(['node', 'encourage', 'health', '--address', 'h:1', '--timeout-ms', '0']), (err: unknown) => err instanceof ConfigError && err.key === 'timeoutMs');
  const help = program();
  await assert.rejects(help.p.parseAsync(['node', 'encourage', 'health', '--help']), (err: unknown) => err instanceof CommanderError && err.exitCode === 0);
  for (const flag of ['--address <host:port>', '--service <name>', '--timeout-ms <ms>']) assert.ok(help.out().includes(flag), flag);
});
