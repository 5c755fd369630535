import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkQueue } from './work-queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a key is queued once and never processed by two workers at a time; an add while processing runs it again', async () => {
  const q = new WorkQueue();
  const calls: string[] = [];
  let concurrent = 0;
  let maxConcurrent = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  q.start(4, async (key) => {
    concurrent++;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    calls.push(key);
    if (calls.length === 1) await gate;
    concurrent--;
    return { requeueAfterMs: null };
  });
  q.add('ns/a');
  await sleep(10);
  q.add('ns/a'); // while processing: dirty
  q.add('ns/a');
  assert.equal(q.depth, 0, 'not queued a second time while processing');
  release();
  await sleep(20);
  assert.deepEqual(calls, ['ns/a', 'ns/a']);
  assert.equal(maxConcurrent, 1);
  await q.shutDown();
});

test('failures back off exponentially per key, without holding up other keys; success resets', async () => {
  const q = new WorkQueue({ baseDelayMs: 40, maxDelayMs: 1000 });
  const attempts: number[] = [];
  const others: number[] = [];
  q.start(1, async (key) => {
    if (key === 'ns/bad') {
      attempts.push(Date.now());
      if (attempts.length < 4) throw new Error('API said no');
    } else others.push(Date.now());
    return { requeueAfterMs: null };
  });
  q.add('ns/bad');
  for (let i = 0; i < 5; i++) {
    await sleep(15);
    q.add(`ns/good-${i}`);
  }
  await sleep(600);
  assert.equal(attempts.length, 4);
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]!);
  // 40, 80, 160 ms ± 10% jitter (timers may only be late).
  assert.ok(gaps[0]! >= 36 && gaps[1]! >= 72 && gaps[2]! >= 144, `gaps ${gaps.join(',')}`);
  assert.ok(gaps[2]! > gaps[0]! * 2.5, `gaps grow: ${gaps.join(',')}`);
  assert.equal(others.length, 5, 'the other keys were processed meanwhile');
  assert.ok(others[0]! < attempts[1]!, 'a good key ran between the bad key’s retries');
  assert.equal(q.retries('ns/bad'), 0, 'success forgot the failures');
  await q.shutDown();
});

test('requeue after a delay (the earliest deadline wins) and shutDown waits for in-flight work', async () => {
  const q = new WorkQueue();
  const seen: [string, number][] = [];
  const t0 = Date.now();
  let first = true;
  q.start(2, async (key) => {
    seen.push([key, Date.now() - t0]);
    if (key === 'ns/slow') await sleep(100);
    if (key === 'ns/timer' && first) {
      first = false;
      return { requeueAfterMs: 60 };
    }
    return { requeueAfterMs: null };
  });
  q.add('ns/timer');
  q.addAfter('ns/later', 500);
  q.addAfter('ns/later', 30);
  q.addAfter('ns/later', 400);
  await sleep(120);
  assert.deepEqual(seen.map(([k]) => k), ['ns/timer', 'ns/later', 'ns/timer']);
  assert.ok(seen[1]![1] >= 29 && seen[1]![1] < 200 && seen[2]![1] >= 59, JSON.stringify(seen));
  q.add('ns/slow');
  await sleep(10);
  const stopping = Date.now();
  await q.shutDown();
  assert.ok(Date.now() - stopping >= 80, 'shutDown waited for the in-flight key');
  q.add('ns/after');
  await sleep(10);
  assert.ok(!seen.some(([k]) => k === 'ns/after'), 'nothing runs after shutDown');
});
