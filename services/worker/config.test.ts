/**
 * The worker's environment switches for the webgpu kernels: defaults (what measured fastest on an
 * H200), each accepted value, and an unknown value rejected by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../core/errors.js';
import { webGpuKernelChoices } from './config.js';

test('webgpu kernel switches: defaults, accepted values, and a bad value named', () => {
  assert.deepEqual(webGpuKernelChoices({}), { gemmTiling: 'wide', conv: 'gemm', dx: 'gemm' });
  assert.deepEqual(webGpuKernelChoices({ ENCOURAGE_WEBGPU_GEMM: '' }).gemmTiling, 'wide');
  assert.deepEqual(
    webGpuKernelChoices({ ENCOURAGE_WEBGPU_GEMM: 'narrow', ENCOURAGE_WEBGPU_CONV: 'stock', ENCOURAGE_WEBGPU_DX: 'stock' }),
    { gemmTiling: 'narrow', conv: 'stock', dx: 'stock' },
  );
  assert.throws(() => webGpuKernelChoices({ ENCOURAGE_WEBGPU_CONV: 'fast' }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.key, 'ENCOURAGE_WEBGPU_CONV');
    assert.equal(err.value, 'fast');
    assert.match(err.message, /ENCOURAGE_WEBGPU_CONV/);
    assert.match(err.message, /fast/);
    return true;
  });
});
