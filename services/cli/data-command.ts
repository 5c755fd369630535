/**
 * `encourage data synth` and `encourage data download`: put a CIFAR-10 binary dataset on
 * disk, either a synthetic stand-in (no network needed) or the real one. As with every
 * command, the last stdout line is one JSON object describing the result; logs and the
 * progress bar go to stderr.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logging.js';
import { prettyLogs } from './io.js';
import { CIFAR10_DIR_NAME } from '../worker/data/cifar10-format.js';
import { CIFAR10_MD5, CIFAR10_URL, DEFAULT_DOWNLOAD_IDLE_TIMEOUT_MS, DownloadError, downloadCifar10 } from '../worker/data/download.js';
import { createProgressBar, type ProgressStream } from '../worker/data/progress-bar.js';
import { writeSyntheticCifar10 } from '../worker/data/synthetic.js';

/** Default `--data-dir` (git-ignored in this repo); the dataset lands in `<dir>/cifar-10-batches-bin`. */
export const DEFAULT_DATA_DIR = '.data';
/** Upper bound on synthetic split sizes: 3 KiB per image, so 1e6 images ≈ 3 GB of RAM. */
const MAX_SYNTH_IMAGES = 1_000_000;

/** Where the command writes; injectable so tests can capture output without a subprocess. */
export interface DataCommandIo {
  stdout?: { write(chunk: string): unknown };
  /** Stream for the download progress bar (drawn only if it is a TTY). */
  progressStream?: ProgressStream;
  logger?: Logger;
}

/**
 * Parse a flag value as an integer in [min, max].
 * @throws ConfigError naming the flag
 */
export function parseIntFlag(flag: string, raw: unknown, min: number, max: number): number {
  const text = typeof raw === 'string' ? raw.trim() : raw;
  const value = typeof text === 'string' && /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new ConfigError(flag, raw, `an integer in [${min}, ${max}]`);
  return value;
}

function requireString(flag: string, raw: unknown, expected: string): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw new ConfigError(flag, raw, expected);
  return raw;
}

/** Add the `data` command group (`synth`, `download`) to the program. */
export function registerDataCommand(program: Command, io: DataCommandIo = {}): Command {
  const stdout = io.stdout ?? process.stdout;
  const logger = (): Logger => io.logger ?? createLogger({ name: 'encourage-data', pretty: prettyLogs() });
  const printJson = (value: unknown): void => void stdout.write(`${JSON.stringify(value)}\n`);

  const data = program
    .command('data')
    .description('Put a CIFAR-10 binary dataset on disk: a synthetic stand-in or the real download');

  data
    .command('synth')
    .description(
      'Write a learnable synthetic dataset in the CIFAR-10 binary format (data_batch_1..5.bin, test_batch.bin, ' +
        'batches.meta.txt): class-dependent coloured shapes with noise and jitter, some class pairs deliberately confusable',
    )
    .option('--out <dir>', 'output directory (required); receives the seven dataset files')
    .option('--train <n>', 'number of training images (split over the five batch files)', '10000')
    .option('--test <m>', 'number of test images', '2000')
    .option('--seed <s>', 'random seed; the same seed gives identical bytes', '0')
    .action(async (opts: Record<string, unknown>) => {
      const outDir = path.resolve(requireString('--out', opts['out'], 'an output directory'));
      const train = parseIntFlag('--train', opts['train'], 5, MAX_SYNTH_IMAGES);
      const test = parseIntFlag('--test', opts['test'], 1, MAX_SYNTH_IMAGES);
      const seed = parseIntFlag('--seed', opts['seed'], -(2 ** 31), 2 ** 32 - 1);
      const log = logger();
      const startedMs = Date.now();
      await writeSyntheticCifar10({ outDir, train, test, seed });
      log.info({ outDir, train, test, seed, elapsedMs: Date.now() - startedMs }, 'synthetic CIFAR-10 written');
      printJson({ outDir, train, test, seed });
    });

  data
    .command('download')
    .description(
      `Download ${path.basename(CIFAR10_URL)}, verify its MD5, extract and install it atomically as ` +
        `<data-dir>/${CIFAR10_DIR_NAME}; does nothing if a valid dataset is already there`,
    )
    .option('--data-dir <dir>', 'directory that receives the dataset', DEFAULT_DATA_DIR)
    .option('--url <url>', 'official URL, a mirror URL, or a local path / file:// URL of the .tar.gz', CIFAR10_URL)
    .option('--md5 <hex>', 'expected MD5 of the archive', CIFAR10_MD5)
    .option('--timeout-ms <ms>', 'fail when the server sends nothing for this long', String(DEFAULT_DOWNLOAD_IDLE_TIMEOUT_MS))
    .action(async (opts: Record<string, unknown>) => {
      const dataDir = requireString('--data-dir', opts['dataDir'], 'a directory');
      const url = requireString('--url', opts['url'], 'a URL or file path');
      const md5 = requireString('--md5', opts['md5'], '32 hexadecimal digits');
      if (!/^[0-9a-fA-F]{32}$/.test(md5)) throw new ConfigError('--md5', md5, '32 hexadecimal digits');
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !/^(https?|file):\/\//i.test(url)) {
        throw new ConfigError('--url', url, 'an http(s) URL, a file:// URL or a local path');
      }
      const idleTimeoutMs = parseIntFlag('--timeout-ms', opts['timeoutMs'], 1, 3_600_000);
      const log = logger();
      const bar = createProgressBar({ label: path.basename(url) || 'download', stream: io.progressStream ?? process.stderr });
      // Ctrl-C aborts cleanly (temp files removed); a second Ctrl-C gets Node's default exit.
      const controller = new AbortController();
      const onSigint = (): void => controller.abort(new DownloadError('interrupted by SIGINT', url));
      process.once('SIGINT', onSigint);
      try {
        const result = await downloadCifar10({ url, dataDir, md5, logger: log, idleTimeoutMs, signal: controller.signal, onProgress: (r, t) => bar.update(r, t) });
        bar.finish();
        printJson(result);
      } finally {
        bar.finish(); // ends the bar's line before main prints an error
        process.off('SIGINT', onSigint);
      }
    });

  return data;
}
