import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OperationQueue, type QueuedOperation } from './operation-queue.js';

/** An operation whose completion the test controls. */
function controlled(sequence: number, window: number, log: string[]): QueuedOperation & { finish(error?: Error): void } {
  let settle: ((error?: Error) => void) | undefined;
  return {
    operation: { kind: 'all-reduce', generation: 1, sequence, step: 0 },
    window,
    start: () => {
      log.push(`start ${sequence}`);
      return new Promise<void>((resolve, reject) => (settle = (error) => (error === undefined ? resolve() : reject(error))));
    },
    drop: (error) => log.push(`drop ${sequence}: ${error.message}`),
    finish: (error) => settle?.(error),
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

test('operations start in submission order, never more than their window in flight', async () => {
  const queue = new OperationQueue();
  const log: string[] = [];
  const ops = [controlled(0, 2, log), controlled(1, 2, log), controlled(2, 2, log), controlled(3, 1, log), controlled(4, 2, log)];
  const done = ops.map((op) => queue.submit(op));
  assert.deepEqual(log, ['start 0', 'start 1']);
  assert.deepEqual([queue.inFlight, queue.queued], [2, 3]);
  ops[1]!.finish();
  await done[1];
  assert.deepEqual(log, ['start 0', 'start 1', 'start 2'], 'one slot freed, the next in line starts');
  ops[0]!.finish();
  await done[0];
  assert.deepEqual(log.slice(3), [], 'operation 3 (window 1) waits until it would run alone, and 4 waits behind it');
  ops[2]!.finish();
  await done[2];
  assert.deepEqual(log.slice(3), ['start 3', 'start 4'], 'a window binds when its operation starts: 4 (window 2) may join 3');
  ops[3]!.finish();
  ops[4]!.finish();
  await Promise.all(done);
  assert.deepEqual([queue.inFlight, queue.queued], [0, 0]);
});

test('calls settle in issue order even when a later one finishes first; a rejection is carried, not reported unhandled', async () => {
  const queue = new OperationQueue();
  const order: string[] = [];
  let finishFirst!: () => void;
  const first = queue.inOrder(new Promise<void>((resolve) => (finishFirst = resolve))).then(() => order.push('first'));
  const second = queue.inOrder(Promise.reject(new Error('second failed'))).catch((e: Error) => order.push(e.message));
  const third = queue.inOrder(Promise.resolve(3)).then((v) => order.push(`third ${v}`));
  await tick();
  assert.deepEqual(order, [], 'nothing settles before the first call');
  finishFirst();
  await Promise.all([first, second, third]);
  assert.deepEqual(order, ['first', 'second failed', 'third 3']);
});

test('drop fails waiting operations with the error chosen for each; a start that throws frees its slot', async () => {
  const queue = new OperationQueue();
  const log: string[] = [];
  const running = controlled(0, 1, log);
  const waiting = [controlled(1, 1, log), controlled(2, 1, log), controlled(3, 1, log)];
  const done = [running, ...waiting].map((op) => queue.submit(op).then(() => 'ok', (e: Error) => e.message));
  queue.drop((q) => (q.operation.sequence === 1 || q.operation.sequence === 3 ? new Error(`gone ${q.operation.sequence}`) : undefined));
  assert.deepEqual(log, ['start 0', 'drop 1: gone 1', 'drop 3: gone 3']);
  running.finish();
  await tick();
  waiting[1]!.finish();
  assert.deepEqual(await Promise.all(done), ['ok', 'gone 1', 'ok', 'gone 3']);

  const throwing: QueuedOperation = {
    operation: { kind: 'broadcast', generation: 1, sequence: 9, step: 0 },
    window: 1,
    start: () => {
      throw new Error('generation moved on');
    },
    drop: () => assert.fail('a started operation is not dropped'),
  };
  await assert.rejects(queue.submit(throwing), /generation moved on/);
  const after = controlled(10, 1, log);
  const last = queue.submit(after);
  assert.equal(log.at(-1), 'start 10', 'the slot of the failed start is free again');
  after.finish();
  await last;
});
