/**
 * Side-effect import: makes sure tfjs's gradient functions are registered.
 *
 * `@tensorflow/tfjs-core` alone registers kernels' forward implementations only; its
 * `register_all_gradients` entry point is an extension-less ESM file that Node cannot load. The
 * `@tensorflow/tfjs` node bundle registers every gradient config into the registry that all copies
 * of tfjs-core share through the global namespace (`_tfengine`, `gradRegistry`), so importing it
 * once is enough for `tf.variableGrads` over Conv2D, MaxPool, MatMul, Relu, Mean, … to work.
 * Without it a training step fails with "gradient function not found for …".
 */
import '@tensorflow/tfjs';
