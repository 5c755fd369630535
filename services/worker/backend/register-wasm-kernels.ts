/**
 * Installs the project's fast training kernels into the wasm backend's kernel registry.
 *
 * Kernels are looked up per call, so registering before or after `tf.setBackend('wasm')`
 * both work; none of ours needs a `setupFunc`. The stock kernel functions are captured
 * first so that fallbacks inside our kernels never call themselves.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { castAliasWasmConfig, identityAliasWasmConfig } from './aliasing-identity.js';
import { conv2DBackpropFilterWasmConfig } from './conv2d-backprop-filter.js';
import { conv2DBackpropInputWasmConfig } from './conv2d-backprop-input.js';
import { captureWasmKernel, hasOriginalWasmKernel } from './wasm-kernel-utils.js';

/** Every kernel this module installs, in registration order. */
export const fastWasmKernelConfigs: readonly KernelConfig[] = [
  conv2DBackpropInputWasmConfig,
  conv2DBackpropFilterWasmConfig,
  identityAliasWasmConfig,
  castAliasWasmConfig,
];

/** Stock kernels our kernels call; captured before anything is replaced. */
const composedFrom = ['Conv2D', 'BatchMatMul', 'Transpose', 'Slice', 'Conv2DBackpropInput', 'Identity', 'Cast'];

/**
 * Register (or re-register) the fast wasm kernels. Idempotent: a second call finds ours
 * already in place and changes nothing. Returns the names of the kernels now installed.
 */
export function registerFastWasmKernels(): string[] {
  for (const name of composedFrom) {
    if (hasOriginalWasmKernel(name)) captureWasmKernel(name);
  }
  const names: string[] = [];
  for (const config of fastWasmKernelConfigs) {
    const existing = getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc !== config.kernelFunc) {
      // registerKernel only warns and keeps going on duplicates; unregistering first keeps
      // the log clean and makes the replacement explicit.
      if (existing !== undefined) unregisterKernel(config.kernelName, config.backendName);
      // The engine runs `setupFunc` only for kernels registered when the backend initialises.
      // Our fallbacks call the stock kernel, whose setup (cwrap of its C function) must
      // therefore still happen if we replace it before `tf.setBackend('wasm')`.
      const setupFunc = existing?.setupFunc ?? config.setupFunc;
      registerKernel(setupFunc === undefined ? config : { ...config, setupFunc });
    }
    names.push(config.kernelName);
  }
  return names;
}

/** Whether our version of `kernelName` is the one the wasm backend will run. */
export function isFastWasmKernelInstalled(kernelName: string): boolean {
  const ours = fastWasmKernelConfigs.find((c) => c.kernelName === kernelName);
  return ours !== undefined && getKernel(kernelName, 'wasm')?.kernelFunc === ours.kernelFunc;
}
