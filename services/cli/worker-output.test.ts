import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { LAST_LINE_MAX_CHARS, summarise, WorkerOutput } from './worker-output.js';

test('relays whole lines across chunk boundaries and keeps the last meaningful one', async () => {
  const stream = new PassThrough();
  const relayed: string[] = [];
  const out = new WorkerOutput(stream, (l) => relayed.push(l));
  stream.write('{"level":30,"msg":"registe');
  stream.write('red"}\nencourage: listen EADDRINUSE\n    at Server.listen (net.js:1:1)\n\n');
  stream.end('{"level":50,"msg":"collective failed","err":{"message":"peer reset"}}');
  await new Promise((r) => stream.on('end', r));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(relayed, ['{"level":30,"msg":"registered"}', 'encourage: listen EADDRINUSE', '    at Server.listen (net.js:1:1)', '', '{"level":50,"msg":"collective failed","err":{"message":"peer reset"}}']);
  assert.equal(out.lastLine(), 'collective failed: peer reset');
});

test('summarise: log lines by message and error, stack frames and blanks say nothing, long lines are cut', async () => {
  assert.equal(summarise('{"msg":"worker finished"}'), 'worker finished');
  assert.equal(summarise('{"msg":"x","err":"bad"}'), 'x: bad');
  assert.equal(summarise('{"level":30}'), '{"level":30}');
  assert.equal(summarise('   at foo (a.js:1:1)'), '');
  assert.equal(summarise('  '), '');
  assert.equal(summarise('{not json'), '{not json');
  const stream = new PassThrough();
  const out = new WorkerOutput(stream, () => {});
  stream.write(`${'x'.repeat(2000)}\n`);
  await new Promise((r) => setImmediate(r));
  assert.equal(out.lastLine().length, LAST_LINE_MAX_CHARS);
});
