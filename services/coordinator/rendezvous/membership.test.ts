import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparePods, Membership, type MembershipOptions, type RoundResult } from './membership.js';
import { RunFullError, StaleGenerationError, UnknownWorkerError } from '../errors.js';

const w = (pod: string, localIndex: number, port: number) => ({ collectiveAddress: `127.0.0.1:${port}`, pod, localIndex, backend: 'wasm' });

/** Membership with test-friendly timeouts; collects completed rounds. */
function membership(o: Partial<MembershipOptions> & Pick<MembershipOptions, 'minWorkers' | 'maxWorkers' | 'rendezvousGraceMs'>, rounds: RoundResult[] = []): Membership {
  return new Membership({ heartbeatTimeoutMs: 60_000, rendezvousTimeoutMs: 60_000, onRound: (r) => rounds.push(r), ...o });
}

test('reaching maxWorkers assigns at once; ranks keep pods adjacent', async () => {
  const m = membership({ minWorkers: 2, maxWorkers: 4, rendezvousGraceMs: 60_000 });
  const a = m.register(w('pod-b', 1, 1));
  const b = m.register(w('pod-a', 0, 2));
  const c = m.register(w('pod-b', 0, 3));
  assert.equal(m.generation, 0, 'waiting for the grace period or maxWorkers');
  const pending = m.waitForAssignment(a, 0, 5_000);
  const d = m.register(w('pod-a', 1, 4));
  const view = await pending;
  assert.equal(view.generation, 1);
  assert.equal(view.worldSize, 4);
  assert.deepEqual(view.ring, ['127.0.0.1:2', '127.0.0.1:4', '127.0.0.1:3', '127.0.0.1:1']);
  assert.deepEqual([b, d, c, a].map((id) => m.rankOf(id)), [0, 1, 2, 3]);
  assert.throws(() => m.register(w('pod-c', 0, 5)), RunFullError);
  m.close();
});

test('minWorkers plus the grace period starts a smaller ring', async () => {
  const m = membership({ minWorkers: 2, maxWorkers: 8, rendezvousGraceMs: 50 });
  const a = m.register(w('p', 0, 1));
  const none = await m.waitForAssignment(a, 0, 80);
  assert.equal(none.assigned, false, 'one worker is below minWorkers');
  m.register(w('p', 1, 2));
  const t0 = Date.now();
  const v = await m.waitForAssignment(a, 0, 5_000);
  assert.ok(Date.now() - t0 >= 40, 'waited for the grace period');
  assert.equal(v.worldSize, 2);
  assert.equal(v.rank, 0);
  m.close();
});

test('stale generations and unknown workers are rejected with the values', () => {
  const m = membership({ minWorkers: 1, maxWorkers: 1, rendezvousGraceMs: 10 });
  const a = m.register(w('p', 0, 1));
  assert.equal(m.generation, 1);
  assert.doesNotThrow(() => m.check(a, 1));
  assert.throws(() => m.check(a, 0), (e: unknown) => e instanceof StaleGenerationError && e.got === 0 && e.current === 1);
  assert.throws(() => m.check('nobody', 1), UnknownWorkerError);
  m.close();
});

test('pods order naturally: worker-2 before worker-10', () => {
  assert.ok(comparePods('exp-worker-2', 'exp-worker-10') < 0);
  assert.ok(comparePods('a', 'b') < 0);
});

test('a lost worker (missed heartbeats) opens an aborting round; survivors re-join with their applied steps', async () => {
  let now = 0;
  const rounds: RoundResult[] = [];
  const lost: string[] = [];
  const m = membership({ minWorkers: 1, maxWorkers: 3, rendezvousGraceMs: 0, heartbeatTimeoutMs: 1_000, now: () => now, onLost: (x) => lost.push(x.workerId) }, rounds);
  const ids = [m.register(w('p', 0, 1)), m.register(w('p', 1, 2)), m.register(w('p', 2, 3))];
  assert.equal(m.generation, 1);
  now = 900;
  m.touch(ids[0]!);
  m.touch(ids[1]!);
  now = 1_500;
  m.sweep();
  assert.deepEqual(lost, [ids[2]]);
  assert.deepEqual(m.pending, { reason: 'worker-lost', abort: true });
  assert.throws(() => m.check(ids[2]!, 1), UnknownWorkerError);
  m.arrive(ids[0]!, 1, 41, 'peer-failure');
  assert.equal(m.generation, 1, 'waits for the other survivor');
  m.arrive(ids[1]!, 1, 42, 'peer-failure');
  assert.equal(m.generation, 2);
  assert.equal(m.pending, null);
  const r = rounds.at(-1)!;
  assert.equal(r.reason, 'worker-lost');
  assert.deepEqual(r.ranks, [ids[0], ids[1]]);
  assert.deepEqual([...r.applied.values()], [41, 42]);
  assert.equal((await m.waitForAssignment(ids[1]!, 1, 10)).rank, 1);
  m.close();
});

test('a late joiner opens a graceful round; leaving shrinks the ring', async () => {
  const rounds: RoundResult[] = [];
  const m = membership({ minWorkers: 1, maxWorkers: 2, rendezvousGraceMs: 0 }, rounds);
  const a = m.register(w('p', 0, 1));
  assert.equal((await m.waitForAssignment(a, 0, 1_000)).generation, 1, 'the grace period (0 ms) passed');
  const b = m.register(w('p', 1, 2));
  assert.deepEqual(m.pending, { reason: 'join', abort: false }, 'the ring finishes its step first');
  assert.equal(m.view(b).assigned, false);
  m.arrive(a, 1, 10, 'membership-change');
  assert.equal(m.generation, 2);
  assert.deepEqual(rounds.at(-1)!.applied, new Map([[a, 10], [b, -1]]), 'the newcomer holds no state');
  assert.throws(() => m.register(w('p', 2, 3)), RunFullError);
  m.leave(b);
  assert.deepEqual(m.pending, { reason: 'leave', abort: false });
  m.arrive(a, 2, 12, 'membership-change');
  assert.equal(m.generation, 3);
  assert.equal(m.worldSize, 1);
  m.close();
});

test('a round whose members stay silent evicts them at the rendezvous deadline; too few workers starve the run', async () => {
  const starved: number[] = [];
  const m = membership({ minWorkers: 2, maxWorkers: 2, rendezvousGraceMs: 0, rendezvousTimeoutMs: 50, onStarved: (n) => starved.push(n) });
  const a = m.register(w('p', 0, 1));
  const b = m.register(w('p', 1, 2));
  m.arrive(a, 1, 5, 'peer-failure');
  await new Promise((r) => setTimeout(r, 120));
  assert.throws(() => m.member(b), UnknownWorkerError);
  assert.deepEqual(starved, [1]);
  assert.equal(m.generation, 1, 'no ring below minWorkers');
  m.close();
});

test('rings that keep failing without progress evict the most-blamed member and quarantine its slot', () => {
  let now = 0;
  const lost: string[] = [];
  const m = membership({ minWorkers: 2, maxWorkers: 3, rendezvousGraceMs: 0, now: () => now, progress: () => 7, suspectRounds: 3, quarantineMs: 1_000, onLost: (x, why) => lost.push(`${x.pod}:${why}`) });
  const ids = [m.register(w('p', 0, 1)), m.register(w('p', 1, 2)), m.register(w('p', 2, 3))];
  assert.equal(m.generation, 1);
  const failRound = (gen: number) => {
    // Ranks 0 and 2 cannot talk: rank 0 blames rank 2's address, ranks 1 and 2 blame rank 0's.
    m.arrive(ids[0]!, gen, 7, 'peer-failure', '127.0.0.1:3');
    m.arrive(ids[1]!, gen, 7, 'peer-failure', '127.0.0.1:1');
    m.arrive(ids[2]!, gen, 7, 'peer-failure', '127.0.0.1:1');
  };
  failRound(1);
  failRound(2);
  assert.equal(m.generation, 3, 'two failed rounds re-form the same ring');
  assert.equal(m.worldSize, 3);
  failRound(3);
  assert.equal(m.generation, 4);
  assert.equal(m.worldSize, 2, 'the third failure at the same step evicts the most-blamed member');
  assert.match(lost[0] ?? '', /^p:blamed by 2 peer\(s\)/);
  assert.throws(() => m.member(ids[0]!), UnknownWorkerError);
  assert.throws(() => m.register(w('p', 0, 9)), (e: unknown) => e instanceof RunFullError && /quarantined/.test(e.message));
  now = 2_000;
  assert.doesNotThrow(() => m.register(w('p', 0, 9)), 'the quarantine ends');
  m.close();
});

test('evictSlot: a supervisor that saw a process exit evicts it at once — lost, aborting round, slot free for its replacement', () => {
  const rounds: RoundResult[] = [];
  const lost: string[] = [];
  const m = membership({ minWorkers: 1, maxWorkers: 3, rendezvousGraceMs: 60_000, onLost: (x, why) => lost.push(`${x.pod}/${x.localIndex}: ${why}`) }, rounds);
  const ids = [0, 1, 2].map((i) => m.register(w('local', i, 10 + i)));
  assert.equal(m.generation, 1);
  assert.equal(m.evictSlot('local', 7, 'exited'), false, 'no such slot');
  assert.equal(m.evictSlot('local', 1, 'process exited (signal SIGKILL)'), true);
  assert.deepEqual(lost, ['local/1: process exited (signal SIGKILL)']);
  assert.deepEqual(m.pending, { reason: 'worker-lost', abort: true });
  // The survivors re-join after their failed collective; the ring re-forms without waiting for a deadline.
  m.arrive(ids[0]!, 1, 5, 'peer-failure');
  m.arrive(ids[2]!, 1, 5, 'peer-failure');
  assert.equal(m.generation, 2);
  assert.equal(rounds.at(-1)!.reason, 'worker-lost');
  assert.deepEqual(rounds.at(-1)!.ranks, [ids[0], ids[2]]);
  // Its replacement takes the freed place (maxWorkers 3 is not exceeded) and joins at the next boundary.
  const back = m.register(w('local', 1, 21));
  assert.deepEqual(m.pending, { reason: 'join', abort: false });
  m.arrive(ids[0]!, 2, 8, 'membership-change');
  m.arrive(ids[2]!, 2, 8, 'membership-change');
  assert.equal(m.generation, 3);
  assert.equal(m.rankOf(back), 1);
  m.close();
});

test('lowerMaxWorkers: a slot given up for good ends the first rendezvous\'s wait; below minWorkers is refused', () => {
  const m = membership({ minWorkers: 1, maxWorkers: 3, rendezvousGraceMs: 60_000 });
  m.register(w('local', 0, 1));
  m.register(w('local', 1, 2));
  assert.equal(m.generation, 0, 'waiting for the third');
  m.lowerMaxWorkers(2);
  assert.equal(m.generation, 1, 'formed with the two there are');
  assert.equal(m.worldSize, 2);
  assert.throws(() => m.register(w('local', 2, 3)), (e: unknown) => e instanceof RunFullError && e.maxWorkers === 2);
  assert.throws(() => m.lowerMaxWorkers(0), RangeError);
  m.close();
});

test('a loss during a graceful round (a join) escalates it to a recovery: aborting, reason worker-lost', () => {
  const rounds: RoundResult[] = [];
  const m = membership({ minWorkers: 1, maxWorkers: 3, rendezvousGraceMs: 60_000 }, rounds);
  const [a, b] = [0, 1, 2].map((i) => m.register(w('local', i, 10 + i))) as [string, string, string];
  m.evictSlot('local', 2, 'process exited (code 1)');
  m.arrive(a, 1, 4, 'peer-failure');
  m.arrive(b, 1, 4, 'peer-failure');
  assert.equal(m.generation, 2);
  // Its replacement registers: a graceful round, the ring finishes its step first…
  const back = m.register(w('local', 2, 22));
  assert.deepEqual(m.pending, { reason: 'join', abort: false });
  // …when another worker dies: now every member must abandon its step.
  m.evictSlot('local', 1, 'process exited (signal SIGKILL)');
  assert.deepEqual(m.pending, { reason: 'worker-lost', abort: true });
  m.arrive(a, 2, 7, 'peer-failure');
  assert.equal(m.generation, 3);
  assert.equal(rounds.at(-1)!.reason, 'worker-lost');
  assert.deepEqual(rounds.at(-1)!.ranks, [a, back]);
  m.close();
});
