/**
 * The webgpu route's selection rules with the real Dawn binding (lavapipe on CPU machines, the GPU
 * on GPU machines), its adapter presented as a hardware or a software one so that each rule is
 * checked whatever the machine has: `auto` takes a hardware adapter but never a software one, an
 * explicit `--backend webgpu` takes either, and a missing binding or Vulkan driver is an error
 * naming the cause.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { silentLogger } from '../../core/logging.js';
import { BackendUnavailableError, selectBackend, type ModuleImporter } from './select-backend.js';
import { describeAdapter, type DawnImporter } from './webgpu-runtime.js';

const noNative: ModuleImporter = (specifier) => Promise.reject(new Error(`Cannot find package '${specifier}'`));
const realDawn: DawnImporter = async () => (await import('webgpu')) as unknown as Awaited<ReturnType<DawnImporter>>;

/**
 * The real binding, with every adapter it finds presented as `info` (what a GPU node, or a machine
 * with only a software rasteriser, shows), so that each rule is checked on any machine with an adapter.
 */
function disguise(info: GPUAdapterInfo & { isFallbackAdapter: boolean }): DawnImporter {
  return async () => {
    const dawn = await realDawn();
    return {
      globals: dawn.globals,
      create: (flags) => {
        const gpu = dawn.create(flags);
        return {
          requestAdapter: async (options?: GPURequestAdapterOptions) => {
            const adapter = await gpu.requestAdapter(options);
            if (adapter === null) return null;
            return new Proxy(adapter, {
              get: (target, key) => (key === 'info' ? { ...info } : key === 'isFallbackAdapter' ? info.isFallbackAdapter : bindIfMethod(target, Reflect.get(target, key, target))),
            });
          },
        } as unknown as GPU;
      },
    };
  };
}

const disguisedDawn = disguise({ vendor: 'nvidia', architecture: 'hopper', device: 'nvidia-h200', description: 'NVIDIA H200 (stand-in)', isFallbackAdapter: false } as GPUAdapterInfo & { isFallbackAdapter: boolean });
const softwareDawn = disguise({ vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe (stand-in)', isFallbackAdapter: true } as GPUAdapterInfo & { isFallbackAdapter: boolean });

function bindIfMethod(target: object, value: unknown): unknown {
  return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
}

const probe = await realDawn().then((d) => d.create([]).requestAdapter());
const skip = probe === null ? 'no Vulkan adapter on this machine' : false;

test('describeAdapter: Dawn\'s fallback flag, the software architecture or a known name mark software adapters', () => {
  const hw = { vendor: 'nvidia', architecture: 'hopper', device: 'nvidia-h200', description: '' } as GPUAdapterInfo;
  assert.equal(describeAdapter(hw, false, []).software, false);
  assert.equal(describeAdapter(hw, true, []).software, true);
  assert.equal(describeAdapter({ ...hw, architecture: 'software' } as GPUAdapterInfo, false, []).software, true);
  assert.equal(describeAdapter({ vendor: 'google', architecture: '', device: '', description: 'SwiftShader Device (Subzero)' } as GPUAdapterInfo, false, []).software, true);
});

test('auto never picks a software adapter; explicit webgpu does and reports it', { skip }, async () => {
  const auto = await selectBackend('auto', silentLogger, { native: noNative, dawn: softwareDawn });
  assert.equal(auto.backend, 'wasm');
  assert.match(auto.reason, /no WebGPU hardware adapter \(only a software adapter\)/);
  const explicit = await selectBackend('webgpu', silentLogger, { native: noNative, dawn: softwareDawn });
  assert.equal(explicit.backend, 'webgpu');
  assert.equal(tf.getBackend(), 'webgpu');
  assert.equal(explicit.gpu, true);
  assert.equal(explicit.adapter?.software, true);
  assert.match(explicit.reason, /\(software\)/);
  // Tensors really compute there (read asynchronously: dataSync is not available on a GPU tensor).
  const sum = tf.add(tf.tensor1d([1, 2, 3]), tf.tensor1d([10, 20, 30]));
  assert.deepEqual([...(await sum.data())], [11, 22, 33]);
  sum.dispose();
});

test('auto takes a hardware adapter over tfjs-node and wasm, and names it', { skip }, async () => {
  const result = await selectBackend('auto', silentLogger, { native: noNative, dawn: disguisedDawn });
  assert.equal(result.backend, 'webgpu');
  assert.equal(result.adapter?.vendor, 'nvidia');
  assert.equal(result.adapter?.software, false);
  assert.match(result.reason, /auto: @tensorflow\/tfjs-node-gpu unavailable; WebGPU on nvidia nvidia-h200/);
});

test('webgpu without a Vulkan driver, or without the binding, is an error naming the cause', async () => {
  const before = tf.getBackend();
  const noAdapter: DawnImporter = async () => ({ globals: {}, create: () => ({ requestAdapter: async () => null }) as unknown as GPU });
  await assert.rejects(selectBackend('webgpu', silentLogger, { dawn: noAdapter }), (err: unknown) => {
    assert.ok(err instanceof BackendUnavailableError);
    assert.match(err.message, /backend "webgpu" unavailable: Dawn found no GPU adapter/);
    assert.match(err.message, /libvulkan1/);
    assert.match(err.message, /NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics/);
    return true;
  });
  const noBinding: DawnImporter = () => Promise.reject(new Error('libvulkan.so.1: cannot open shared object file'));
  await assert.rejects(selectBackend('webgpu', silentLogger, { dawn: noBinding }), /Dawn's Node binding \(npm package 'webgpu'\) could not be loaded: libvulkan.so.1/);
  assert.equal(tf.getBackend(), before, 'a failed request leaves the active backend alone');
  // auto just moves on.
  const auto = await selectBackend('auto', silentLogger, { native: noNative, dawn: noAdapter });
  assert.equal(auto.backend, 'wasm');
  assert.match(auto.reason, /Dawn found no GPU adapter/);
});
