/**
 * The worker's data pipeline: CIFAR-10 binary format and loader, downloader, synthetic
 * generator and preprocessing/augmentation (the sampler and batch iterator live in core/training).
 * Import from here unless you need something a file does not re-export.
 */
export * from './cifar10-format.js';
export * from './cifar10-loader.js';
export * from './download.js';
export * from './synthetic.js';
export * from './augment.js';
export * from './progress-bar.js';
