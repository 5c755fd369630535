import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, truncate, writeFile, appendFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError, InputError } from '../../core/errors.js';
import {
  CIFAR10_CLASS_NAMES,
  CIFAR10_DIR_NAME,
  CIFAR10_IMAGE_BYTES,
  CIFAR10_RECORD_BYTES,
  encodeCifar10Records,
  trainFileSizes,
  writeCifar10Dataset,
} from './cifar10-format.js';
import { loadCifar10, resolveCifar10Dir, validateCifar10Dir } from './cifar10-loader.js';

/** A split whose image bytes encode (record, position) so misplaced bytes are detectable. */
function pattern(count: number, salt: number): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(count * CIFAR10_IMAGE_BYTES);
  for (let i = 0; i < images.length; i++) images[i] = (i * 7 + salt * 13 + Math.floor(i / CIFAR10_IMAGE_BYTES) * 31) & 0xff;
  const labels = new Uint8Array(count);
  for (let i = 0; i < count; i++) labels[i] = (i * 3 + salt) % 10;
  return { images, labels };
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cifar-loader-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('writer and loader round-trip both splits byte for byte', async () => {
  await withDir(async (dir) => {
    const train = pattern(23, 1);
    const test = pattern(4, 2);
    const files = await writeCifar10Dataset(dir, { train, test });
    assert.equal(files.length, 7);
    // 23 records over five files: 5,5,5,4,4.
    assert.deepEqual(trainFileSizes(23), [5, 5, 5, 4, 4]);
    assert.equal((await stat(path.join(dir, 'data_batch_1.bin'))).size, 5 * CIFAR10_RECORD_BYTES);
    assert.equal((await stat(path.join(dir, 'data_batch_5.bin'))).size, 4 * CIFAR10_RECORD_BYTES);
    // Record layout: label byte first, then the 3072 pixel bytes.
    const raw = await readFile(path.join(dir, 'test_batch.bin'));
    assert.equal(raw[CIFAR10_RECORD_BYTES], test.labels[1]);
    assert.deepEqual(raw.subarray(CIFAR10_RECORD_BYTES + 1, 2 * CIFAR10_RECORD_BYTES), Buffer.from(test.images.subarray(CIFAR10_IMAGE_BYTES, 2 * CIFAR10_IMAGE_BYTES)));

    const loaded = await loadCifar10(dir, { split: 'train' });
    assert.equal(loaded.count, 23);
    assert.deepEqual(loaded.labels, train.labels);
    assert.deepEqual(loaded.images, train.images);
    assert.deepEqual(loaded.classNames, CIFAR10_CLASS_NAMES);
    const loadedTest = await loadCifar10(dir, { split: 'test' });
    assert.equal(loadedTest.count, 4);
    assert.deepEqual(loadedTest.images, test.images);
    assert.deepEqual(await validateCifar10Dir(dir), { train: 23, test: 4 });
  });
});

test('meta file with trailing blank lines (as in the official release) is accepted; wrong count is not', async () => {
  await withDir(async (dir) => {
    await writeCifar10Dataset(dir, { train: pattern(5, 0), test: pattern(1, 0) });
    await writeFile(path.join(dir, 'batches.meta.txt'), `${CIFAR10_CLASS_NAMES.join('\r\n')}\n\n\n`);
    assert.deepEqual((await loadCifar10(dir, { split: 'test' })).classNames, CIFAR10_CLASS_NAMES);
    await writeFile(path.join(dir, 'batches.meta.txt'), 'cat\ndog\n');
    await assert.rejects(loadCifar10(dir, { split: 'test' }), (err: unknown) => err instanceof InputError && /expected 10 class names, found 2/.test(err.message));
  });
});

test('a missing file is named, even when loading the other split', async () => {
  await withDir(async (dir) => {
    await writeCifar10Dataset(dir, { train: pattern(5, 0), test: pattern(1, 0) });
    await rm(path.join(dir, 'test_batch.bin'));
    await assert.rejects(loadCifar10(dir, { split: 'train' }), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.source, path.join(dir, 'test_batch.bin'));
      assert.match(err.message, /missing CIFAR-10 file test_batch\.bin/);
      return true;
    });
    await assert.rejects(loadCifar10(path.join(dir, 'nope'), { split: 'train' }), /missing CIFAR-10 file data_batch_1\.bin/);
  });
});

test('truncated, empty and bad-label files are InputErrors with file and offset', async () => {
  await withDir(async (dir) => {
    await writeCifar10Dataset(dir, { train: pattern(10, 0), test: pattern(3, 0) });
    const batch2 = path.join(dir, 'data_batch_2.bin');
    // Two whole records, then 100 bytes of a third: the partial record starts at 2 × 3073.
    await truncate(batch2, 2 * CIFAR10_RECORD_BYTES + 100);
    await assert.rejects(loadCifar10(dir, { split: 'train' }), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.source, batch2);
      assert.equal(err.offset, 2 * CIFAR10_RECORD_BYTES);
      assert.match(err.message, /not a multiple of 3073/);
      return true;
    });
    await assert.rejects(validateCifar10Dir(dir), (err: unknown) => err instanceof InputError && err.source === batch2);
    // The test split does not read the broken train file.
    assert.equal((await loadCifar10(dir, { split: 'test' })).count, 3);

    await writeFile(batch2, new Uint8Array(0));
    await assert.rejects(loadCifar10(dir, { split: 'train' }), (err: unknown) => err instanceof InputError && err.offset === 0 && /empty/.test(err.message));

    const testFile = path.join(dir, 'test_batch.bin');
    const bytes = await readFile(testFile);
    bytes[2 * CIFAR10_RECORD_BYTES] = 10; // label of record 2
    await writeFile(testFile, bytes);
    await assert.rejects(loadCifar10(dir, { split: 'test' }), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.equal(err.source, testFile);
      assert.equal(err.offset, 2 * CIFAR10_RECORD_BYTES);
      assert.match(err.message, /label 10 of record 2 is out of range/);
      return true;
    });
    await appendFile(testFile, new Uint8Array(1));
    await assert.rejects(loadCifar10(dir, { split: 'test' }), (err: unknown) => err instanceof InputError && err.offset === 3 * CIFAR10_RECORD_BYTES);
  });
});

test('writer rejects sets the loader could not read back, and bad arrays', async () => {
  await withDir(async (dir) => {
    await assert.rejects(writeCifar10Dataset(dir, { train: pattern(4, 0), test: pattern(1, 0) }), (err: unknown) => err instanceof ConfigError && err.key === 'train');
    await assert.rejects(writeCifar10Dataset(dir, { train: pattern(5, 0), test: pattern(0, 0) }), (err: unknown) => err instanceof ConfigError && err.key === 'test');
    const bad = pattern(2, 0);
    bad.labels[1] = 12;
    assert.throws(() => encodeCifar10Records(bad, 0, 2), (err: unknown) => err instanceof ConfigError && err.key === 'labels[1]');
    assert.throws(() => encodeCifar10Records(bad, 1, 2), (err: unknown) => err instanceof ConfigError && err.key === 'range');
    assert.throws(() => encodeCifar10Records({ images: new Uint8Array(5), labels: new Uint8Array(1) }, 0, 1), ConfigError);
  });
});

test('resolveCifar10Dir accepts the dataset directory or its parent', async () => {
  await withDir(async (dir) => {
    const nested = path.join(dir, CIFAR10_DIR_NAME);
    await mkdir(nested);
    assert.equal(await resolveCifar10Dir(dir), dir); // nothing there yet: unchanged
    await writeCifar10Dataset(nested, { train: pattern(5, 0), test: pattern(1, 0) });
    assert.equal(await resolveCifar10Dir(dir), nested);
    assert.equal(await resolveCifar10Dir(nested), nested);
  });
});
