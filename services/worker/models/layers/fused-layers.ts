/**
 * The layers' operations on the fused training path (webgpu; see fused-tape.ts): each computes
 * its forward with as few kernels as possible, keeps what its backward needs on the tape, and
 * records a backward made of our fused kernels where there is one:
 *
 * | layer                              | forward kernels            | backward kernels                          |
 * |------------------------------------|----------------------------|-------------------------------------------|
 * | conv (no bias)                     | Conv2D                     | dW (GEMM), dx (GEMM; + earlier gradient)  |
 * | BatchNorm [+ residual] [+ ReLU]    | EncourageBatchNormForward  | EncourageBatchNormBackward                |
 * | dense                              | _FusedMatMul (bias fused)  | 2 BatchMatMul + Sum                        |
 * | ReLU / max pool / global avg pool  | Relu / MaxPool / Mean      | Step+Multiply / MaxPoolGrad / 3 small ops |
 *
 * The engine's autodiff of the same ResNet-20 step runs ~1,700 kernels for the model part alone.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD, type BatchNormBackwardAttrs, type BatchNormForwardAttrs } from '../../backend/webgpu/batch-norm-kernels.js';
import { CONV2D_BACKPROP_INPUT_ADD } from '../../backend/webgpu/conv-grad-kernels.js';
import type { LayerTape } from './fused-tape.js';

function run(name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor[] {
  const out = tf.engine().runKernel(name, inputs, attrs as tf.NamedAttrMap);
  return Array.isArray(out) ? out : [out];
}

/** Convolution (NHWC, square stride, symmetric or 'valid' padding) with optional bias. */
export function fusedConv2d(tape: LayerTape, x: tf.Tensor4D, weight: tf.Variable, bias: tf.Variable | null, stride: number, pad: 'valid' | number): tf.Tensor4D {
  const conv = tf.conv2d(x, weight as tf.Tensor4D, stride, pad);
  const y = bias === null ? conv : (tf.add(conv, bias) as tf.Tensor4D);
  const xs = tape.hold(x);
  const ws = tape.hold(weight);
  const attrs = { strides: [stride, stride], pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
  tape.record([x], y, (dy) => {
    tape.paramGrad(weight, run('Conv2DBackpropFilter', { x: xs, dy }, { ...attrs, filterShape: weight.shape })[0]!);
    if (bias !== null) tape.paramGrad(bias, tf.sum(dy, [0, 1, 2]));
    if (!tape.needsGrad(x)) return;
    // Where x already has a gradient (it also feeds a residual path), the dx GEMM adds it.
    const prior = tape.takeGrad(x);
    const dx = prior === undefined
      ? run('Conv2DBackpropInput', { dy, filter: ws }, { ...attrs, inputShape: x.shape })[0]!
      : run(CONV2D_BACKPROP_INPUT_ADD, { dy, filter: ws, addend: prior }, { ...attrs, inputShape: x.shape })[0]!;
    prior?.dispose();
    tape.accumulate(x, dx);
  });
  return y;
}

/** What {@link fusedBatchNorm} needs of the layer. */
export interface BatchNormParams {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly eps: number;
  readonly momentum: number;
}

/**
 * Training-mode BatchNorm, then `+ residual`, then ReLU, in one kernel. Returns the output and the
 * new running statistics (kept: the layer owns them until it applies or discards them).
 */
export function fusedBatchNorm(
  tape: LayerTape,
  x: tf.Tensor4D,
  layer: BatchNormParams,
  relu: boolean,
  residual: tf.Tensor4D | undefined,
): { y: tf.Tensor4D; runningMean: tf.Tensor1D; runningVar: tf.Tensor1D } {
  const inputs: tf.NamedTensorMap = { x, gamma: layer.weight, beta: layer.bias, runningMean: layer.runningMean, runningVar: layer.runningVar };
  if (residual !== undefined) inputs['residual'] = residual;
  const forward: BatchNormForwardAttrs = { eps: layer.eps, momentum: layer.momentum, relu };
  const [y, stats, runningMean, runningVar] = run(BATCH_NORM_FORWARD, inputs, forward) as [tf.Tensor4D, tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
  const saved: tf.NamedTensorMap = { x: tape.hold(x), gamma: tape.hold(layer.weight), stats: tape.hold(stats) };
  if (relu) saved['y'] = tape.hold(y);
  tape.record(residual === undefined ? [x] : [x, residual], y, (dy) => {
    const residualGrad = residual !== undefined && tape.needsGrad(residual);
    const attrs: BatchNormBackwardAttrs = { relu, residualGrad };
    const [dx, dgamma, dbeta, dres] = run(BATCH_NORM_BACKWARD, { ...saved, dy }, attrs);
    tape.paramGrad(layer.weight, dgamma!);
    tape.paramGrad(layer.bias, dbeta!);
    if (tape.needsGrad(x)) tape.accumulate(x, dx!);
    else dx!.dispose();
    if (dres !== undefined) tape.accumulate(residual!, dres);
  });
  return { y, runningMean: tf.keep(runningMean), runningVar: tf.keep(runningVar) };
}

/** Dense layer x·W + b (one fused matMul forward). */
export function fusedDense(tape: LayerTape, x: tf.Tensor2D, weight: tf.Variable, bias: tf.Variable): tf.Tensor2D {
  const y = tf.fused.matMul({ a: x, b: weight as tf.Tensor2D, bias }) as tf.Tensor2D;
  const xs = tape.hold(x);
  const ws = tape.hold(weight);
  tape.record([x], y, (dy) => {
    tape.paramGrad(weight, tf.matMul(xs, dy, true, false));
    tape.paramGrad(bias, tf.sum(dy, 0));
    if (tape.needsGrad(x)) tape.accumulate(x, tf.matMul(dy, ws, false, true));
  });
  return y;
}

/** Element-wise max(x, 0). */
export function fusedRelu<T extends tf.Tensor>(tape: LayerTape, x: T): T {
  const y = tf.relu(x);
  const ys = tape.hold(y);
  tape.record([x], y, (dy) => tape.accumulate(x, tf.tidy(() => tf.mul(dy, tf.step(ys)))));
  return y;
}

/** 2×2 max pooling, stride 2, no padding. */
export function fusedMaxPool2x2(tape: LayerTape, x: tf.Tensor4D): tf.Tensor4D {
  const y = tf.maxPool(x, 2, 2, 'valid');
  const saved = { input: tape.hold(x), output: tape.hold(y) };
  tape.record([x], y, (dy) => tape.accumulate(x, run('MaxPoolGrad', { dy, ...saved }, { filterSize: 2, strides: 2, pad: 'valid', dimRoundingMode: undefined })[0]!));
  return y;
}

/** Mean over H and W: [N, H, W, C] → [N, C]. */
export function fusedGlobalAvgPool(tape: LayerTape, x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  const y = tf.mean(x, [1, 2]) as tf.Tensor2D;
  tape.record([x], y, (dy) => tape.accumulate(x, tf.tidy(() => tf.broadcastTo(tf.reshape(tf.mul(dy, 1 / (h * w)), [n, 1, 1, c]), [n, h, w, c]))));
  return y;
}

/** [N, H, W, C] → [N, H·W·C]. */
export function fusedFlatten(tape: LayerTape, x: tf.Tensor4D): tf.Tensor2D {
  const [n, h, w, c] = x.shape;
  const y = tf.reshape(x, [n, h * w * c]) as tf.Tensor2D;
  tape.record([x], y, (dy) => tape.accumulate(x, tf.reshape(dy, x.shape)));
  return y;
}
