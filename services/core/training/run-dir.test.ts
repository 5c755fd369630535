import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDir, readMetrics } from './run-dir.js';

test('records append as JSON lines; truncateAfter drops later steps and torn lines', async () => {
  const dir = new RunDir(join(await mkdtemp(join(tmpdir(), 'run-')), 'r1'));
  await dir.init({ model: 'cnn-small' });
  assert.deepEqual(JSON.parse(await readFile(join(dir.path, 'config.json'), 'utf8')), { model: 'cnn-small' });
  for (let s = 1; s <= 5; s++) dir.record({ type: 'step', step: s, loss: 1 / s });
  dir.record({ type: 'epoch', step: 5, epoch: 1 });
  await dir.flush();
  await appendFile(dir.metricsPath, '{"type":"step","st');
  assert.equal((await readMetrics(dir.metricsPath)).length, 6);
  await dir.truncateAfter(3);
  const recs = await readMetrics(dir.metricsPath);
  assert.deepEqual(recs.map((r) => r.step), [1, 2, 3]);
  dir.record({ type: 'step', step: 4, loss: 0.2 });
  await dir.flush();
  assert.deepEqual((await readMetrics(dir.metricsPath)).map((r) => r.step), [1, 2, 3, 4]);
});

test('onRecord listeners see each record as written, with NaN intact, until they unsubscribe', async () => {
  const dir = new RunDir(join(await mkdtemp(join(tmpdir(), 'run-')), 'r2'));
  await dir.init({});
  const seen: unknown[] = [];
  const off = dir.onRecord((rec) => seen.push(rec['loss']));
  dir.record({ type: 'step', step: 1, loss: 0.5 });
  dir.record({ type: 'step', step: 2, loss: Number.NaN });
  off();
  dir.record({ type: 'step', step: 3, loss: 0.25 });
  assert.deepEqual(seen, [0.5, Number.NaN]);
  await dir.flush();
  // The file keeps JSON's view (NaN → null); the listener got the number.
  assert.deepEqual((await readMetrics(dir.metricsPath)).map((r) => r['loss']), [0.5, null, 0.25]);
});
