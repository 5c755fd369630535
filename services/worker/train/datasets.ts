/**
 * Resolve a `DataSource` into train/test splits in memory: generated synthetic data, or the
 * CIFAR-10 binary files (downloaded first when asked to).
 */
import type { Logger } from 'pino';
import type { DataSource } from '../../core/training/train-config.js';
import type { Cifar10Data } from '../data/cifar10-format.js';
import { loadCifar10, resolveCifar10Dir } from '../data/cifar10-loader.js';
import { downloadCifar10 } from '../data/download.js';
import { createProgressBar } from '../data/progress-bar.js';
import { generateSyntheticCifar10 } from '../data/synthetic.js';

export interface Datasets {
  readonly train: Cifar10Data;
  readonly test: Cifar10Data;
  /** Human-readable origin, for logs and the summary. */
  readonly source: string;
}

/** Load both splits; `seed` drives the synthetic generator. */
export async function loadDatasets(data: DataSource, seed: number, logger: Logger): Promise<Datasets> {
  if (data.kind === 'synthetic') {
    const { train, test } = generateSyntheticCifar10({ train: data.train, test: data.test, seed });
    return { train, test, source: `synthetic(train=${data.train}, test=${data.test}, seed=${seed})` };
  }
  let dir = await resolveCifar10Dir(data.dir);
  if (data.download) {
    const bar = createProgressBar({ label: 'cifar-10' });
    const result = await downloadCifar10({ dataDir: data.dir, ...(data.url === null ? {} : { url: data.url }), logger, onProgress: (r, t) => bar.update(r, t) });
    bar.finish();
    dir = result.dir;
  }
  const [train, test] = await Promise.all([loadCifar10(dir, { split: 'train' }), loadCifar10(dir, { split: 'test' })]);
  return { train, test, source: `cifar10(${dir})` };
}
