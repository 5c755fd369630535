import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, truncate } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { c as createTar } from 'tar';
import { ConfigError, InputError } from '../../core/errors.js';
import { CIFAR10_DIR_NAME } from './cifar10-format.js';
import { loadCifar10 } from './cifar10-loader.js';
import { DownloadError, downloadCifar10 } from './download.js';
import { writeSyntheticCifar10 } from './synthetic.js';

let root: string;
let archive: Buffer;
let archivePath: string;
let archiveMd5: string;
let strayArchive: Buffer; // a valid .tar.gz without cifar-10-batches-bin/
let server: Server;
let base: string;
const hits = new Map<string, number>();

before(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cifar-download-'));
  await writeSyntheticCifar10({ outDir: path.join(root, 'src', CIFAR10_DIR_NAME), train: 10, test: 5, seed: 2 });
  archivePath = path.join(root, 'cifar-10-binary.tar.gz');
  await createTar({ gzip: true, file: archivePath, cwd: path.join(root, 'src') }, [CIFAR10_DIR_NAME]);
  archive = await readFile(archivePath);
  archiveMd5 = createHash('md5').update(archive).digest('hex');
  await mkdir(path.join(root, 'stray', 'other'), { recursive: true });
  await writeSyntheticCifar10({ outDir: path.join(root, 'stray', 'other'), train: 5, test: 1, seed: 0 });
  const strayPath = path.join(root, 'stray.tar.gz');
  await createTar({ gzip: true, file: strayPath, cwd: path.join(root, 'stray') }, ['other']);
  strayArchive = await readFile(strayPath);

  server = createServer((req, res) => {
    const url = req.url ?? '/';
    hits.set(url, (hits.get(url) ?? 0) + 1);
    const send = (body: Buffer): void => {
      res.writeHead(200, { 'content-type': 'application/gzip', 'content-length': body.length });
      res.end(body);
    };
    switch (url) {
      case '/cifar-10-binary.tar.gz':
        return send(archive);
      case '/stray.tar.gz':
        return send(strayArchive);
      case '/redirect':
        res.writeHead(302, { location: '/cifar-10-binary.tar.gz' });
        return void res.end();
      case '/interrupted':
        // Promise the whole archive, send half, then kill the connection.
        res.writeHead(200, { 'content-length': archive.length });
        res.write(archive.subarray(0, archive.length >> 1), () => res.socket?.destroy());
        return;
      case '/stall':
        res.writeHead(200, { 'content-length': archive.length });
        res.write(archive.subarray(0, 100));
        return; // never ends; the client's idle timeout must fire
      default:
        res.writeHead(404);
        res.end('not here');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

/** A fresh, not yet existing data dir. */
let counter = 0;
const freshDataDir = (): string => path.join(root, `data-${++counter}`);

async function assertInstalled(dataDir: string): Promise<void> {
  assert.deepEqual(await readdir(dataDir), [CIFAR10_DIR_NAME]); // no temp leftovers
  const loaded = await loadCifar10(path.join(dataDir, CIFAR10_DIR_NAME), { split: 'train' });
  const original = await loadCifar10(path.join(root, 'src', CIFAR10_DIR_NAME), { split: 'train' });
  assert.deepEqual(loaded.images, original.images);
  assert.deepEqual(loaded.labels, original.labels);
}

test('good download through a redirect installs the dataset; a second call is a cache hit', async () => {
  const dataDir = freshDataDir();
  const progress: Array<[number, number | undefined]> = [];
  const result = await downloadCifar10({ url: `${base}/redirect`, dataDir, md5: archiveMd5, onProgress: (r, t) => progress.push([r, t]) });
  assert.equal(result.cached, false);
  assert.equal(result.md5, archiveMd5);
  assert.equal(result.bytes, archive.length);
  assert.deepEqual([result.train, result.test], [10, 5]);
  assert.equal(result.dir, path.join(path.resolve(dataDir), CIFAR10_DIR_NAME));
  assert.deepEqual(progress.at(-1), [archive.length, archive.length]);
  await assertInstalled(dataDir);

  const fetchesBefore = hits.get('/cifar-10-binary.tar.gz');
  const again = await downloadCifar10({ url: `${base}/redirect`, dataDir, md5: archiveMd5 });
  assert.equal(again.cached, true);
  assert.deepEqual([again.train, again.test], [10, 5]);
  assert.equal(hits.get('/cifar-10-binary.tar.gz'), fetchesBefore);
});

test('bad checksum: error names URL, expected and actual MD5; nothing left behind', async () => {
  const dataDir = freshDataDir();
  const wrong = '0'.repeat(32);
  await assert.rejects(downloadCifar10({ url: `${base}/cifar-10-binary.tar.gz`, dataDir, md5: wrong }), (err: unknown) => {
    assert.ok(err instanceof DownloadError);
    assert.equal(err.source, `${base}/cifar-10-binary.tar.gz`);
    assert.match(err.message, new RegExp(`expected md5 ${wrong}, got ${archiveMd5}`));
    return true;
  });
  assert.deepEqual(await readdir(dataDir), []);
});

test('interrupted transfer: error, nothing left behind', async () => {
  const dataDir = freshDataDir();
  await assert.rejects(downloadCifar10({ url: `${base}/interrupted`, dataDir, md5: archiveMd5 }), (err: unknown) => {
    assert.ok(err instanceof DownloadError, String(err));
    assert.match(err.message, /\/interrupted: transfer failed after \d+ of \d+ bytes/);
    return true;
  });
  assert.deepEqual(await readdir(dataDir), []);
});

test('404 is an error naming the URL and status', async () => {
  const dataDir = freshDataDir();
  await assert.rejects(downloadCifar10({ url: `${base}/missing.tar.gz`, dataDir, md5: archiveMd5 }), (err: unknown) => {
    assert.ok(err instanceof DownloadError);
    assert.equal(err.source, `${base}/missing.tar.gz`);
    assert.match(err.message, /HTTP 404/);
    return true;
  });
  assert.deepEqual(await readdir(dataDir), []);
});

test('a stalled server hits the idle timeout; an abort signal also cleans up', async () => {
  const dataDir = freshDataDir();
  await assert.rejects(downloadCifar10({ url: `${base}/stall`, dataDir, md5: archiveMd5, idleTimeoutMs: 300 }), (err: unknown) => err instanceof DownloadError && /\/stall: transfer failed after 100 of \d+ bytes: no data for 300 ms$/.test(err.message));
  assert.deepEqual(await readdir(dataDir), []);
  const controller = new AbortController();
  const reason = new Error('stop requested');
  setTimeout(() => controller.abort(reason), 100);
  await assert.rejects(downloadCifar10({ url: `${base}/stall`, dataDir, md5: archiveMd5, signal: controller.signal }), (err: unknown) => err === reason);
  assert.deepEqual(await readdir(dataDir), []);
});

test('local path and file:// sources; a missing local file is an InputError', async () => {
  const viaPath = freshDataDir();
  const result = await downloadCifar10({ url: archivePath, dataDir: viaPath, md5: archiveMd5.toUpperCase() });
  assert.equal(result.cached, false);
  await assertInstalled(viaPath);
  const viaUrl = freshDataDir();
  await downloadCifar10({ url: pathToFileURL(archivePath).href, dataDir: viaUrl, md5: archiveMd5 });
  await assertInstalled(viaUrl);
  const missing = path.join(root, 'nope.tar.gz');
  await assert.rejects(downloadCifar10({ url: missing, dataDir: freshDataDir(), md5: archiveMd5 }), (err: unknown) => err instanceof InputError && err.source === missing);
  await assert.rejects(downloadCifar10({ url: 'ftp://example.org/x.tar.gz', dataDir: freshDataDir() }), (err: unknown) => err instanceof ConfigError && err.key === 'url');
  await assert.rejects(downloadCifar10({ url: archivePath, dataDir: freshDataDir(), md5: 'abc' }), (err: unknown) => err instanceof ConfigError && err.key === 'md5');
});

test('an archive without cifar-10-batches-bin/ is rejected after the checksum passes', async () => {
  const dataDir = freshDataDir();
  const md5 = createHash('md5').update(strayArchive).digest('hex');
  await assert.rejects(downloadCifar10({ url: `${base}/stray.tar.gz`, dataDir, md5 }), (err: unknown) => err instanceof DownloadError && /does not hold a valid cifar-10-batches-bin/.test(err.message));
  assert.deepEqual(await readdir(dataDir), []);
});

test('an invalid existing dataset survives a failed download and is replaced by a good one', async () => {
  const dataDir = freshDataDir();
  await downloadCifar10({ url: archivePath, dataDir, md5: archiveMd5 });
  const broken = path.join(dataDir, CIFAR10_DIR_NAME, 'data_batch_3.bin');
  await truncate(broken, 100);
  await assert.rejects(downloadCifar10({ url: `${base}/interrupted`, dataDir, md5: archiveMd5 }), DownloadError);
  assert.deepEqual(await readdir(dataDir), [CIFAR10_DIR_NAME]);
  assert.equal((await readFile(broken)).length, 100); // untouched, not half-replaced
  const result = await downloadCifar10({ url: `${base}/cifar-10-binary.tar.gz`, dataDir, md5: archiveMd5 });
  assert.equal(result.cached, false);
  await assertInstalled(dataDir);
});
