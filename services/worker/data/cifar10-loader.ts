/**
 * Loader and validator for a CIFAR-10 binary dataset directory. Every byte is checked
 * before training sees it: a truncated download or a wrong file shows up here as an
 * `InputError` naming the file and byte offset, not as a NaN loss hours later.
 */
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import {
  CIFAR10_DIR_NAME,
  CIFAR10_IMAGE_BYTES,
  CIFAR10_META_FILE,
  CIFAR10_NUM_CLASSES,
  CIFAR10_RECORD_BYTES,
  CIFAR10_REQUIRED_FILES,
  CIFAR10_TEST_FILE,
  CIFAR10_TRAIN_FILES,
  splitFiles,
  type Cifar10Data,
  type Cifar10Split,
} from './cifar10-format.js';

/** Options of {@link loadCifar10}. */
export interface LoadCifar10Options {
  split: Cifar10Split;
}

/**
 * Check that every required file exists, so a missing test batch is reported up front even
 * when only the training split is being loaded (a half-copied directory is a broken one).
 * @throws InputError naming the first missing file
 */
export async function checkCifar10Files(dir: string): Promise<void> {
  for (const name of CIFAR10_REQUIRED_FILES) {
    const file = path.join(dir, name);
    let isFile = false;
    try {
      isFile = (await stat(file)).isFile();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
    }
    if (!isFile) {
      throw new InputError(
        `missing CIFAR-10 file ${name} (a dataset directory needs ${CIFAR10_REQUIRED_FILES.join(', ')}; run \`encourage data download\` or \`encourage data synth\`)`,
        file,
      );
    }
  }
}

/**
 * Validate the bytes of one batch file: non-empty, a whole number of records, every label
 * in range.
 * @returns the number of records
 * @throws InputError with the offset of the partial record or of the bad label's record
 */
export function validateBatchBytes(bytes: Uint8Array, source: string): number {
  if (bytes.length === 0) throw new InputError(`empty batch file (expected a multiple of ${CIFAR10_RECORD_BYTES} bytes)`, source, 0);
  const count = Math.floor(bytes.length / CIFAR10_RECORD_BYTES);
  const rest = bytes.length - count * CIFAR10_RECORD_BYTES;
  if (rest !== 0) {
    throw new InputError(
      `file size ${bytes.length} is not a multiple of ${CIFAR10_RECORD_BYTES}: partial record of ${rest} bytes after ${count} whole records`,
      source,
      count * CIFAR10_RECORD_BYTES,
    );
  }
  for (let i = 0, off = 0; i < count; i++, off += CIFAR10_RECORD_BYTES) {
    const label = bytes[off]!;
    if (label >= CIFAR10_NUM_CLASSES) throw new InputError(`label ${label} of record ${i} is out of range 0..${CIFAR10_NUM_CLASSES - 1}`, source, off);
  }
  return count;
}

/**
 * Read the class names: one per line, blank lines ignored (the official file ends with
 * some), exactly ten required.
 */
export async function readClassNames(dir: string): Promise<string[]> {
  const file = path.join(dir, CIFAR10_META_FILE);
  const names = (await readFile(file, 'utf8'))
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
  if (names.length !== CIFAR10_NUM_CLASSES) throw new InputError(`expected ${CIFAR10_NUM_CLASSES} class names, found ${names.length}`, file);
  return names;
}

/**
 * Load one split of a CIFAR-10 binary dataset.
 * @param dir the directory holding `data_batch_1.bin` … `test_batch.bin` and `batches.meta.txt`
 *   (see {@link resolveCifar10Dir} to accept the parent `--data-dir` too)
 * @returns images as N × 3072 bytes in the file's CHW plane layout, labels, class names, N
 * @throws InputError for a missing file, an empty or truncated batch file, or a label > 9
 */
export async function loadCifar10(dir: string, options: LoadCifar10Options): Promise<Cifar10Data> {
  await checkCifar10Files(dir);
  const classNames = await readClassNames(dir);
  const files = splitFiles(options.split).map((name) => path.join(dir, name));
  // Validate every file before allocating, so a bad file fails fast and sizes are exact.
  const buffers: Uint8Array[] = [];
  let count = 0;
  for (const file of files) {
    const bytes = await readFile(file);
    count += validateBatchBytes(bytes, file);
    buffers.push(bytes);
  }
  const images = new Uint8Array(count * CIFAR10_IMAGE_BYTES);
  const labels = new Uint8Array(count);
  let n = 0;
  for (const bytes of buffers) {
    for (let off = 0; off < bytes.length; off += CIFAR10_RECORD_BYTES, n++) {
      labels[n] = bytes[off]!;
      images.set(bytes.subarray(off + 1, off + CIFAR10_RECORD_BYTES), n * CIFAR10_IMAGE_BYTES);
    }
  }
  return { images, labels, classNames, count };
}

/**
 * Validate a whole dataset directory one file at a time (peak memory: one batch file), as
 * the downloader does before installing and when checking its cache.
 * @returns record counts of both splits
 * @throws InputError like {@link loadCifar10}
 */
export async function validateCifar10Dir(dir: string): Promise<{ train: number; test: number }> {
  await checkCifar10Files(dir);
  await readClassNames(dir);
  let train = 0;
  for (const name of CIFAR10_TRAIN_FILES) {
    const file = path.join(dir, name);
    train += validateBatchBytes(await readFile(file), file);
  }
  const testFile = path.join(dir, CIFAR10_TEST_FILE);
  const test = validateBatchBytes(await readFile(testFile), testFile);
  return { train, test };
}

/**
 * Accept either a dataset directory or its parent (the `--data-dir` that the downloader
 * installs `cifar-10-batches-bin/` into), so users can point at whichever they have.
 * @returns `dir` if it holds `data_batch_1.bin`, else `dir/cifar-10-batches-bin` if that
 *   does, else `dir` unchanged (the loader then reports the missing file there)
 */
export async function resolveCifar10Dir(dir: string): Promise<string> {
  const has = async (d: string): Promise<boolean> =>
    stat(path.join(d, CIFAR10_TRAIN_FILES[0]!)).then(
      (s) => s.isFile(),
      () => false,
    );
  if (await has(dir)) return dir;
  const nested = path.join(dir, CIFAR10_DIR_NAME);
  if (await has(nested)) return nested;
  return dir;
}
