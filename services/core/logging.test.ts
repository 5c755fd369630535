/**
 * Logs as a separate process writes them to stderr: JSON lines with the dynamic fields
 * (rank, generation, step) not repeated when a child logger binds them, or pino-pretty's
 * human-readable lines when the caller says a person is watching.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const LOGGING = fileURLToPath(new URL('./logging.js', import.meta.url));

function runScript(pretty: boolean): string {
  const script = `
    const { createLogger, LogFields } = await import(${JSON.stringify(LOGGING)});
    const fields = new LogFields();
    const log = createLogger({ base: { experiment: 'exp-a' }, pretty: ${pretty}, fields });
    log.info('before binding');
    let step = 0;
    fields.bind(() => ({ rank: 1, generation: 2, step, absent: undefined }));
    step = 7;
    log.info({ extra: 1 }, 'after binding');
    log.child({ rank: 1, generation: 2 }).warn('from a child that binds rank');
    log.info({ step: 99 }, 'explicit step wins');
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '', 'logs never go to stdout');
  return r.stderr;
}

test('JSON logs carry experiment, rank, generation and step, each key once', () => {
  const lines = runScript(false).trim().split('\n');
  assert.equal(lines.length, 4);
  for (const line of lines) {
    const keys = [...line.matchAll(/"([a-zA-Z]+)":/g)].map((m) => m[1]);
    assert.equal(new Set(keys).size, keys.length, `duplicate keys in ${line}`);
  }
  const [before, after, child, explicit] = lines.map((l) => JSON.parse(l) as Record<string, unknown>) as [Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>];
  assert.equal(before['experiment'], 'exp-a');
  assert.equal(before['step'], undefined);
  assert.deepEqual([after['rank'], after['generation'], after['step'], after['extra']], [1, 2, 7, 1]);
  assert.ok(!('absent' in after));
  assert.deepEqual([child['rank'], child['generation'], child['step'], child['level']], [1, 2, 7, 40]);
  assert.equal(explicit['step'], 99);
});

test('pretty logs are human-readable lines, not JSON', () => {
  // pino-pretty colours for a terminal; compare the text without the escape codes.
  const text = runScript(true).replace(/\x1B\[[0-9;]*m/g, '');
  assert.match(text, /INFO.*after binding/);
  assert.match(text, /WARN.*from a child that binds rank/);
  assert.match(text, /step: 7/);
  assert.throws(() => JSON.parse(text.trim().split('\n')[0]!));
});
