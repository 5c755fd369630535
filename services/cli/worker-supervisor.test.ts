import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { silentLogger } from '../core/logging.js';
import { WorkerSupervisor, type SupervisorOptions, type WorkerExit } from './worker-supervisor.js';

/** A real child process running `script` (stderr piped, as the launcher's workers). */
const node = (script: string) => spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });

function supervisor(o: Partial<SupervisorOptions> & Pick<SupervisorOptions, 'workers' | 'maxRestarts' | 'start'>, exits: { exit: WorkerExit; remaining: number }[]): WorkerSupervisor {
  return new WorkerSupervisor({ relay: () => {}, runOver: () => false, progress: () => 7, onExit: (exit, remaining) => exits.push({ exit, remaining }), logger: silentLogger, ...o });
}

async function until(what: string, pred: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a worker that keeps dying is restarted with backoff until the budget (over all workers) is used up, then given up', async () => {
  const exits: { exit: WorkerExit; remaining: number }[] = [];
  const starts: [number, number][] = [];
  const s = supervisor({
    workers: 2, maxRestarts: 2,
    // Worker 0 runs until killed; worker 1 says why it fails and exits 3, every time.
    start: (i, incarnation) => {
      starts.push([i, incarnation]);
      return node(i === 0 ? 'setInterval(() => {}, 1000)' : 'console.error("boom: no GPU"); console.error("    at main (x.js:1:1)"); process.exit(3)');
    },
  }, exits);
  s.start();
  await until('worker 1 given up', () => exits.some((e) => e.exit.action === 'given-up'));
  assert.deepEqual(exits.map((e) => [e.exit.worker, e.exit.code, e.exit.action, e.remaining]), [[1, 3, 'restarted', 2], [1, 3, 'restarted', 2], [1, 3, 'given-up', 1]]);
  assert.deepEqual(exits.map((e) => e.exit.lastLogLine), ['boom: no GPU', 'boom: no GPU', 'boom: no GPU'], 'the stack frame is skipped');
  assert.equal(exits[0]!.exit.atStep, 7);
  assert.deepEqual(starts, [[0, 0], [1, 0], [1, 1], [1, 2]]);
  assert.equal(s.restarts, 2);
  assert.equal(s.remaining, 1);
  // The budget is shared: worker 0 dying now is not restarted either.
  process.kill(s.pids()[0]!, 'SIGKILL');
  await until('worker 0 given up', () => exits.length === 4);
  assert.deepEqual([exits[3]!.exit.worker, exits[3]!.exit.signal, exits[3]!.exit.action, exits[3]!.remaining], [0, 'SIGKILL', 'given-up', 0]);
  await s.drain(1000);
});

test('exit 0 mid-run is a leave (not restarted); exits once the run is over are expected; drain kills stragglers', async () => {
  const exits: { exit: WorkerExit; remaining: number }[] = [];
  let over = false;
  const s = supervisor({
    workers: 3, maxRestarts: 5, runOver: () => over,
    start: (i) => node(i === 0 ? 'process.exit(0)' : i === 1 ? 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)' : 'setTimeout(() => process.exit(1), 300)'),
  }, exits);
  s.start();
  await until('worker 0 left', () => exits.length === 1);
  assert.deepEqual([exits[0]!.exit.worker, exits[0]!.exit.action, exits[0]!.remaining], [0, 'left', 2]);
  over = true;
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(exits.length, 1, 'worker 2\'s exit after the run ended is no failure');
  const pid = s.pids()[1]!;
  const t0 = Date.now();
  await s.drain(200);
  assert.ok(Date.now() - t0 < 10_000);
  assert.throws(() => process.kill(pid, 0), 'worker 1 (ignores SIGTERM) was killed after the grace');
  assert.equal(s.restarts, 0);
});
