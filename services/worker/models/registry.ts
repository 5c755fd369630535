/**
 * Model registry: the names accepted by `--model` / the Experiment CR, and the factory.
 */
import { ConfigError } from '../../core/errors.js';
import { MODEL_NAMES, type ModelName } from '../../core/training/names.js';
import { createCnnSmall } from './cnn-small.js';
import type { Model } from './model.js';
import { RESNET18_SPEC, cifarResNetSpec, createResNet } from './resnet.js';

// The names live in core so that the coordinator can validate a run without importing worker code.
export { MODEL_NAMES, type ModelName } from '../../core/training/names.js';

/** Options of `createModel`. */
export interface CreateModelOptions {
  /** Number of output logits; default 10 (CIFAR-10). */
  readonly numClasses?: number;
  /** Seed of the initialisation RNG: equal seeds give bit-identical initial weights. */
  readonly seed: number;
}

/** Whether `name` is a registered model name. */
export function isModelName(name: unknown): name is ModelName {
  return typeof name === 'string' && (MODEL_NAMES as readonly string[]).includes(name);
}

/**
 * Create a freshly initialised model.
 * @throws ConfigError('model', name, …) for an unknown name; ConfigError for a bad numClasses/seed.
 */
export function createModel(name: ModelName, options: CreateModelOptions): Model {
  if (!isModelName(name)) throw new ConfigError('model', name, `one of ${MODEL_NAMES.join(', ')}`);
  const numClasses = options.numClasses ?? 10;
  if (!Number.isInteger(numClasses) || numClasses < 1) throw new ConfigError('model.numClasses', numClasses, 'a positive integer');
  if (!Number.isSafeInteger(options.seed)) throw new ConfigError('model.seed', options.seed, 'a safe integer');
  switch (name) {
    case 'resnet18':
      return createResNet(name, RESNET18_SPEC, numClasses, options.seed);
    case 'resnet20':
      return createResNet(name, cifarResNetSpec(20), numClasses, options.seed);
    case 'resnet32':
      return createResNet(name, cifarResNetSpec(32), numClasses, options.seed);
    case 'resnet56':
      return createResNet(name, cifarResNetSpec(56), numClasses, options.seed);
    case 'cnn-small':
      return createCnnSmall(numClasses, options.seed);
    case 'cnn-nobn':
      return createCnnSmall(numClasses, options.seed, false);
  }
}
