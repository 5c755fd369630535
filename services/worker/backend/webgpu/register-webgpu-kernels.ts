/**
 * Installs the project's kernels into the `webgpu` backend's kernel registry (and the cpu versions
 * of the kernels that exist only here, so that `KernelAudit` can rerun every webgpu kernel on cpu).
 * Replaced stock kernels are captured first: ours fall back to them (NCHW), and the profiler can
 * put them back for its "stock" configuration ({@link restoreStockWebGpuKernels}).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  captureStockConvKernel,
  conv2DBackpropFilterWebGpu,
  conv2DBackpropInputAddCpu,
  conv2DBackpropInputAddWebGpu,
  conv2DBackpropInputWebGpu,
  CONV2D_BACKPROP_INPUT_ADD,
} from './conv-grad-kernels.js';
import { conv2DWebGpu } from './conv-forward-kernel.js';
import { SGD_STEP, sgdStepCpu, sgdStepWebGpu } from './sgd-kernel.js';
import { BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD, batchNormBackwardCpu, batchNormBackwardWebGpu, batchNormForwardCpu, batchNormForwardWebGpu } from './batch-norm-kernels.js';

/** The webgpu kernels this module installs. */
export const webGpuKernelConfigs: readonly tf.KernelConfig[] = [
  { kernelName: 'Conv2D', backendName: 'webgpu', kernelFunc: conv2DWebGpu },
  { kernelName: 'Conv2DBackpropFilter', backendName: 'webgpu', kernelFunc: conv2DBackpropFilterWebGpu },
  { kernelName: 'Conv2DBackpropInput', backendName: 'webgpu', kernelFunc: conv2DBackpropInputWebGpu },
  { kernelName: CONV2D_BACKPROP_INPUT_ADD, backendName: 'webgpu', kernelFunc: conv2DBackpropInputAddWebGpu },
  { kernelName: BATCH_NORM_FORWARD, backendName: 'webgpu', kernelFunc: batchNormForwardWebGpu },
  { kernelName: BATCH_NORM_BACKWARD, backendName: 'webgpu', kernelFunc: batchNormBackwardWebGpu },
  { kernelName: SGD_STEP, backendName: 'webgpu', kernelFunc: sgdStepWebGpu },
];

/** cpu implementations of the kernels that have no stock counterpart (for the audit and the tests). */
export const cpuCounterpartConfigs: readonly tf.KernelConfig[] = [
  { kernelName: CONV2D_BACKPROP_INPUT_ADD, backendName: 'cpu', kernelFunc: conv2DBackpropInputAddCpu },
  { kernelName: BATCH_NORM_FORWARD, backendName: 'cpu', kernelFunc: batchNormForwardCpu },
  { kernelName: BATCH_NORM_BACKWARD, backendName: 'cpu', kernelFunc: batchNormBackwardCpu },
  { kernelName: SGD_STEP, backendName: 'cpu', kernelFunc: sgdStepCpu },
];

const stockConfigs = new Map<string, tf.KernelConfig>();

function install(config: tf.KernelConfig): void {
  const existing = tf.getKernel(config.kernelName, config.backendName);
  if (existing?.kernelFunc === config.kernelFunc) return;
  if (existing !== undefined) tf.unregisterKernel(config.kernelName, config.backendName);
  tf.registerKernel(config);
}

/**
 * Register our webgpu kernels and their cpu counterparts. Idempotent. Kernels are looked up per
 * call, so this works before or after `tf.setBackend('webgpu')`.
 * @returns the names of the webgpu kernels now installed.
 */
export function registerWebGpuKernels(): string[] {
  captureStockConvKernel('Conv2D', conv2DWebGpu);
  captureStockConvKernel('Conv2DBackpropFilter', conv2DBackpropFilterWebGpu);
  captureStockConvKernel('Conv2DBackpropInput', conv2DBackpropInputWebGpu);
  for (const config of webGpuKernelConfigs) {
    const existing = tf.getKernel(config.kernelName, 'webgpu');
    if (existing !== undefined && existing.kernelFunc !== config.kernelFunc && !stockConfigs.has(config.kernelName)) stockConfigs.set(config.kernelName, existing);
    install(config);
  }
  registerCpuCounterparts();
  return webGpuKernelConfigs.map((c) => c.kernelName);
}

/** Register only the cpu versions of our webgpu-only kernels (tests that need no GPU). Idempotent. */
export function registerCpuCounterparts(): void {
  for (const config of cpuCounterpartConfigs) install(config);
}

/**
 * Put tfjs-backend-webgpu's own kernels back where ours replaced them and remove ours that have no
 * stock counterpart (for before/after measurements; {@link registerWebGpuKernels} reinstalls).
 */
export function restoreStockWebGpuKernels(): void {
  for (const config of webGpuKernelConfigs) {
    if (tf.getKernel(config.kernelName, 'webgpu') !== undefined) tf.unregisterKernel(config.kernelName, 'webgpu');
    const original = stockConfigs.get(config.kernelName);
    if (original !== undefined) tf.registerKernel(original);
  }
}

/** Whether our version of `kernelName` is the one the webgpu backend runs. */
export function isWebGpuKernelInstalled(kernelName: string): boolean {
  const ours = webGpuKernelConfigs.find((c) => c.kernelName === kernelName);
  return ours !== undefined && tf.getKernel(kernelName, 'webgpu')?.kernelFunc === ours.kernelFunc;
}
