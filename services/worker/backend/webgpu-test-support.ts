/**
 * For tests that run on the `webgpu` backend: activate it on whatever adapter the machine has
 * (lavapipe in CI) or say why it cannot run. Only a machine without any Vulkan adapter may skip;
 * a binding that fails to load or a device that cannot be created is a failure, not a skip.
 */
import { silentLogger } from '../../core/logging.js';
import { selectBackend } from './select-backend.js';
import { adapterLabel, WebGpuUnavailableError, type GpuAdapterReport } from './webgpu-runtime.js';

/** The adapter the tests run on, or the reason to skip them (printed by node:test). */
export type WebGpuForTests = { readonly adapter: GpuAdapterReport; readonly skip: false } | { readonly adapter: null; readonly skip: string };

/** Activate `webgpu` (software adapters allowed), or return the skip reason when there is no adapter. */
export async function webgpuForTests(): Promise<WebGpuForTests> {
  try {
    const { adapter } = await selectBackend('webgpu', silentLogger);
    if (adapter === null) throw new Error('selectBackend(webgpu) reported no adapter');
    process.stderr.write(`# webgpu tests run on ${adapterLabel(adapter)}: ${adapter.description}\n`);
    return { adapter, skip: false };
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    if (cause instanceof WebGpuUnavailableError && cause.stage === 'adapter') return { adapter: null, skip: `no Vulkan adapter on this machine: ${cause.message}` };
    throw err;
  }
}
