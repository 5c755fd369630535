/**
 * Backend selection as far as it can be exercised without tfjs-node installed: explicit wasm
 * and cpu, the `auto` fallback to wasm (with a reason naming tfjs-node), the `tensorflow`
 * error, and request parsing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../../core/errors.js';
import type { Logger } from '../../core/logging.js';
import { isFastWasmKernelInstalled } from './register-wasm-kernels.js';
import { BackendUnavailableError, parseBackendRequest, selectBackend, type ModuleImporter } from './select-backend.js';

/** A pino logger that keeps its JSON lines for inspection. */
function capturingLogger(): { logger: Logger; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger: Logger = pino({ level: 'info' }, sink);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const failingImporter: ModuleImporter = (specifier) => Promise.reject(new Error(`Cannot find package '${specifier}'`));

test('parseBackendRequest accepts the five names, case-insensitively', () => {
  assert.equal(parseBackendRequest('auto'), 'auto');
  assert.equal(parseBackendRequest('WebGPU'), 'webgpu');
  assert.equal(parseBackendRequest('tensorflow'), 'tensorflow');
  assert.equal(parseBackendRequest('wasm'), 'wasm');
  assert.equal(parseBackendRequest(' CPU '), 'cpu');
});

test('parseBackendRequest rejects anything else with ConfigError naming key and choices', () => {
  for (const bad of ['webgl', '', 'tfjs-node', 'gpu', 'vulkan']) {
    assert.throws(
      () => parseBackendRequest(bad),
      (err: unknown) => err instanceof ConfigError && err.key === 'backend' && err.value === bad && err.expected === 'auto|tensorflow|webgpu|wasm|cpu',
    );
  }
});

test('wasm: activates wasm with the fast gradient kernels and logs the reason', async () => {
  const { logger, lines } = capturingLogger();
  const result = await selectBackend('wasm', logger);
  assert.equal(result.backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(isFastWasmKernelInstalled('Conv2DBackpropFilter'));
  assert.ok(isFastWasmKernelInstalled('Conv2DBackpropInput'));
  const logged = lines().find((l) => l.msg === 'compute backend selected');
  assert.ok(logged, 'selection is logged');
  assert.equal(logged.backend, 'wasm');
  assert.equal(logged.reason, result.reason);
});

test('cpu: activates the cpu backend', async () => {
  const { logger } = capturingLogger();
  const result = await selectBackend('cpu', logger);
  assert.equal(result.backend, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  assert.match(result.reason, /cpu/);
});

test('auto without tfjs-node falls back to wasm and says tfjs-node is unavailable', async () => {
  // The real importer: neither optional package is installed in this checkout.
  const { logger, lines } = capturingLogger();
  const result = await selectBackend('auto', logger);
  assert.equal(result.backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.match(result.reason, /tfjs-node is unavailable/);
  assert.match(result.reason, /@tensorflow\/tfjs-node-gpu/);
  // This machine has no GPU: Dawn finds at most a software adapter, which auto never picks.
  assert.match(result.reason, /no WebGPU hardware adapter/);
  assert.equal(result.adapter, null);
  assert.equal(result.gpu, false);
  assert.equal(lines().find((l) => l.msg === 'compute backend selected')?.request, 'auto');
});

test('auto treats a package that loads but registers no tensorflow backend as unavailable', async () => {
  const imported: string[] = [];
  const hollow: ModuleImporter = (specifier) => {
    imported.push(specifier);
    return Promise.resolve({});
  };
  const result = await selectBackend('auto', capturingLogger().logger, hollow);
  assert.deepEqual(imported, ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'], 'GPU package tried first');
  assert.equal(result.backend, 'wasm');
  assert.match(result.reason, /registered no 'tensorflow' backend/);
});

test('tensorflow without tfjs-node is a clear error naming the request and both packages', async () => {
  const before = tf.getBackend();
  await assert.rejects(selectBackend('tensorflow', capturingLogger().logger, failingImporter), (err: unknown) => {
    assert.ok(err instanceof BackendUnavailableError);
    assert.equal(err.request, 'tensorflow');
    assert.match(err.message, /backend "tensorflow" unavailable/);
    assert.match(err.message, /@tensorflow\/tfjs-node-gpu/);
    assert.match(err.message, /@tensorflow\/tfjs-node\b/);
    return true;
  });
  assert.equal(tf.getBackend(), before, 'a failed request leaves the active backend alone');
});
