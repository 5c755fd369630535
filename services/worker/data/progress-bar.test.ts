import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createProgressBar, formatProgress, type ProgressStream } from './progress-bar.js';

const MB = 1024 * 1024;

class Collector implements ProgressStream {
  chunks: string[] = [];
  constructor(
    readonly isTTY: boolean,
    readonly columns = 100,
  ) {}
  write(chunk: string): boolean {
    this.chunks.push(chunk);
    return true;
  }
}

test('formatProgress shows percentage, sizes, rate and ETA and fits the terminal', () => {
  const line = formatProgress({ label: 'cifar', receivedBytes: 50 * MB, totalBytes: 200 * MB, elapsedMs: 10_000, columns: 100 });
  assert.match(line, /^cifar \[=+ +\]/);
  assert.match(line, / 25\.0% 50\.0\/200\.0 MB 5\.0 MB\/s ETA 30s$/);
  assert.ok(line.length <= 99);
  // Bar is a quarter full.
  const bar = /\[(=*)( *)\]/.exec(line);
  assert.ok(bar);
  assert.equal(Math.round((bar[1]!.length / (bar[1]!.length + bar[2]!.length)) * 4), 1);
  const narrow = formatProgress({ label: 'cifar', receivedBytes: 1, totalBytes: 2, elapsedMs: 1, columns: 30 });
  assert.ok(narrow.length <= 29, narrow);
  const unknown = formatProgress({ label: 'x', receivedBytes: 3 * MB, totalBytes: undefined, elapsedMs: 0, columns: 80 });
  assert.equal(unknown, 'x 3.0 MB 0.0 MB/s');
  assert.match(formatProgress({ label: 'x', receivedBytes: MB, totalBytes: 201 * MB, elapsedMs: 1000, columns: 120 }), /ETA 3m20s$/);
});

test('progress bar draws on a TTY, throttles, always draws 100%, and is silent otherwise', () => {
  let t = 0;
  const tty = new Collector(true);
  const bar = createProgressBar({ label: 'dl', stream: tty, minIntervalMs: 100, now: () => t });
  bar.update(10, 100);
  t = 50;
  bar.update(20, 100); // throttled
  t = 60;
  bar.update(100, 100); // complete: drawn despite the throttle
  bar.finish();
  assert.equal(tty.chunks.length, 4);
  assert.ok(tty.chunks[0]!.startsWith('\rdl ['));
  assert.match(tty.chunks[1]!, /100\.0%/);
  assert.equal(tty.chunks[3], '\n');

  const unused = new Collector(true);
  createProgressBar({ label: 'dl', stream: unused }).finish();
  assert.deepEqual(unused.chunks, []);

  const pipe = new Collector(false);
  const quiet = createProgressBar({ label: 'dl', stream: pipe });
  quiet.update(1, 2);
  quiet.finish();
  assert.deepEqual(pipe.chunks, []);
});
