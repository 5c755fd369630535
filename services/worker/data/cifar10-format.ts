/**
 * The CIFAR-10 *binary* format (https://www.cs.toronto.edu/~kriz/cifar.html): every batch
 * file is a run of 3073-byte records, one label byte followed by 3072 pixel bytes (the R, G
 * and B planes of a 32×32 image, each row-major). `batches.meta.txt` lists the class names,
 * one per line. This file holds the constants shared by the loader, the writer, the
 * synthetic generator and the downloader, plus the writer itself.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../../core/errors.js';

/** Image side in pixels. */
export const CIFAR10_SIDE = 32;
/** Colour channels (R, G, B planes). */
export const CIFAR10_CHANNELS = 3;
/** Pixels of one plane. */
export const CIFAR10_PLANE_BYTES = CIFAR10_SIDE * CIFAR10_SIDE;
/** Pixel bytes of one image (3 planes). */
export const CIFAR10_IMAGE_BYTES = CIFAR10_PLANE_BYTES * CIFAR10_CHANNELS;
/** Bytes of one record: label byte + image. */
export const CIFAR10_RECORD_BYTES = CIFAR10_IMAGE_BYTES + 1;
/** Number of classes; a label byte above `CIFAR10_NUM_CLASSES - 1` is invalid. */
export const CIFAR10_NUM_CLASSES = 10;
/** Records per file in the official release (ours may hold fewer). */
export const CIFAR10_RECORDS_PER_FILE = 10_000;

/** The class names in label order, exactly as in the official `batches.meta.txt`. */
export const CIFAR10_CLASS_NAMES: readonly string[] = Object.freeze([
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
]);

/** Directory name inside the official archive (and under `--data-dir` once installed). */
export const CIFAR10_DIR_NAME = 'cifar-10-batches-bin';
/** The five training batch files, in order. */
export const CIFAR10_TRAIN_FILES: readonly string[] = Object.freeze([1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`));
/** The test batch file. */
export const CIFAR10_TEST_FILE = 'test_batch.bin';
/** The class-name file. */
export const CIFAR10_META_FILE = 'batches.meta.txt';
/** Every file a complete dataset directory must contain. */
export const CIFAR10_REQUIRED_FILES: readonly string[] = Object.freeze([...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE, CIFAR10_META_FILE]);

/** Which half of the dataset to load. */
export type Cifar10Split = 'train' | 'test';

/**
 * One split in memory. `images` keeps the file's layout (N × 3072 bytes, CHW planes) so that
 * loading is a copy; the augmentation step converts to NHWC floats per batch.
 */
export interface Cifar10Data {
  images: Uint8Array;
  labels: Uint8Array;
  classNames: string[];
  count: number;
}

/** The batch files that hold a split. */
export function splitFiles(split: Cifar10Split): readonly string[] {
  return split === 'train' ? CIFAR10_TRAIN_FILES : [CIFAR10_TEST_FILE];
}

/**
 * Encode records `[start, start + count)` of a split as the bytes of one batch file.
 * @throws ConfigError when the range or the array sizes do not fit.
 */
export function encodeCifar10Records(data: Pick<Cifar10Data, 'images' | 'labels'>, start: number, count: number): Uint8Array {
  if (data.images.length !== data.labels.length * CIFAR10_IMAGE_BYTES) {
    throw new ConfigError('images.length', data.images.length, `labels.length × ${CIFAR10_IMAGE_BYTES} = ${data.labels.length * CIFAR10_IMAGE_BYTES}`);
  }
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > data.labels.length) {
    throw new ConfigError('range', [start, count], `a record range inside [0, ${data.labels.length})`);
  }
  const out = new Uint8Array(count * CIFAR10_RECORD_BYTES);
  for (let i = 0; i < count; i++) {
    const label = data.labels[start + i]!;
    if (label >= CIFAR10_NUM_CLASSES) throw new ConfigError(`labels[${start + i}]`, label, `an integer in [0, ${CIFAR10_NUM_CLASSES - 1}]`);
    const off = i * CIFAR10_RECORD_BYTES;
    out[off] = label;
    const src = (start + i) * CIFAR10_IMAGE_BYTES;
    out.set(data.images.subarray(src, src + CIFAR10_IMAGE_BYTES), off + 1);
  }
  return out;
}

/**
 * Sizes of the five training files for `n` records: as even as possible, earlier files take
 * the remainder (like the official release, each file gets `n / 5` when divisible).
 */
export function trainFileSizes(n: number): number[] {
  const base = Math.floor(n / CIFAR10_TRAIN_FILES.length);
  const extra = n % CIFAR10_TRAIN_FILES.length;
  return CIFAR10_TRAIN_FILES.map((_, i) => base + (i < extra ? 1 : 0));
}

/**
 * Write a complete dataset directory (five train batches, test batch, meta file) in the
 * official binary format. Each file is written under a temporary name and renamed, so a
 * crash never leaves a truncated batch file under its real name.
 * @param dir directory to write into (created if missing)
 * @throws ConfigError when the train split has fewer than 5 records or the test split is
 *   empty (the loader rejects empty batch files, so such a set could not be read back)
 * @returns the absolute paths of the files written, in `CIFAR10_REQUIRED_FILES` order
 */
export async function writeCifar10Dataset(
  dir: string,
  data: { train: Pick<Cifar10Data, 'images' | 'labels'>; test: Pick<Cifar10Data, 'images' | 'labels'>; classNames?: readonly string[] },
): Promise<string[]> {
  const nTrain = data.train.labels.length;
  const nTest = data.test.labels.length;
  if (nTrain < CIFAR10_TRAIN_FILES.length) throw new ConfigError('train', nTrain, `at least ${CIFAR10_TRAIN_FILES.length} records (one per batch file)`);
  if (nTest < 1) throw new ConfigError('test', nTest, 'at least 1 record');
  const classNames = data.classNames ?? CIFAR10_CLASS_NAMES;
  if (classNames.length !== CIFAR10_NUM_CLASSES) throw new ConfigError('classNames', classNames, `${CIFAR10_NUM_CLASSES} names`);

  await mkdir(dir, { recursive: true });
  const contents: Array<[string, Uint8Array | string]> = [];
  let start = 0;
  trainFileSizes(nTrain).forEach((size, i) => {
    contents.push([CIFAR10_TRAIN_FILES[i]!, encodeCifar10Records(data.train, start, size)]);
    start += size;
  });
  contents.push([CIFAR10_TEST_FILE, encodeCifar10Records(data.test, 0, nTest)]);
  // The official meta file ends with blank lines; the loader ignores them, so one newline is enough.
  contents.push([CIFAR10_META_FILE, `${classNames.join('\n')}\n`]);

  const written: string[] = [];
  for (const [name, bytes] of contents) {
    const target = path.resolve(dir, name);
    const tmp = `${target}.tmp-${process.pid}`;
    try {
      await writeFile(tmp, bytes);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    written.push(target);
  }
  return written;
}
