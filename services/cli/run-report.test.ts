/**
 * The end-of-run hook: a report that cannot be rendered is logged and yields null, never an error
 * (a finished run must not fail because of its report); `--no-report` renders nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { reportAtRunEnd } from './run-report.js';

function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, done) { chunks.push(chunk.toString()); done(); } });
  return { logger: pino({ level: 'info' }, stream), lines: () => chunks.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('a run directory the report cannot read: logged, null, no throw', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'run-report-'));
  const { logger, lines } = capturingLogger();
  assert.equal(await reportAtRunEnd(dir, true, logger), null);
  const [line] = lines().filter((l) => l['level'] === 50);
  assert.ok(line !== undefined, 'an error was logged');
  assert.equal(line['runDir'], dir);
  assert.match(String((line['err'] as { message: string }).message), /no metrics\.jsonl/);
  assert.equal(existsSync(join(dir, 'report')), false);
});

test('disabled: nothing rendered, nothing logged', async () => {
  const { logger, lines } = capturingLogger();
  assert.equal(await reportAtRunEnd('/nonexistent', false, logger), null);
  assert.deepEqual(lines(), []);
});
