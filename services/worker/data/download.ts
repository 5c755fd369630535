/**
 * Fetch, verify and install the official CIFAR-10 binary archive.
 *
 * Safety contract: the dataset directory `<dataDir>/cifar-10-batches-bin` is either absent,
 * the previous good dataset, or the new fully validated one; never anything in between.
 * Everything is staged in a private temp directory *inside* `dataDir` (same filesystem, so
 * the final `rename` is atomic) and that directory is removed on success, failure or abort.
 * A valid dataset already in place is a cache hit and nothing is fetched.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { x as extractTar } from 'tar';
import { ConfigError, EncourageError, InputError } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logging.js';
import { CIFAR10_DIR_NAME } from './cifar10-format.js';
import { validateCifar10Dir } from './cifar10-loader.js';

/** The official archive. */
export const CIFAR10_URL = 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz';
/** MD5 of the official archive as published on https://www.cs.toronto.edu/~kriz/cifar.html. */
export const CIFAR10_MD5 = 'c32a1d4ab5d03f1284b67883e8d87530';
/** Socket idle deadline: a transfer that sends nothing for this long fails. */
export const DEFAULT_DOWNLOAD_IDLE_TIMEOUT_MS = 60_000;
/** Redirect hops followed before giving up. */
export const DEFAULT_MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const TEMP_PREFIX = '.cifar-10-download-';

/** Fetching or installing the archive failed; `source` is the URL or file involved. */
export class DownloadError extends EncourageError {
  override readonly name = 'DownloadError';
  constructor(
    message: string,
    readonly source: string,
    options?: { cause?: unknown },
  ) {
    super(`${source}: ${message}`, options);
  }
}

/** Options of {@link downloadCifar10}. */
export interface DownloadCifar10Options {
  /** Directory that receives `cifar-10-batches-bin/` (created if missing). */
  dataDir: string;
  /** http(s) URL (official by default, or a mirror), `file://` URL or local path of the .tar.gz. */
  url?: string;
  /** Expected MD5 of the archive, hex (default: the official one). */
  md5?: string;
  logger?: Logger;
  /** Called for every chunk received (e.g. `ProgressBar.update`). */
  onProgress?: (receivedBytes: number, totalBytes: number | undefined) => void;
  /** Socket idle timeout for HTTP sources (default 60 s). */
  idleTimeoutMs?: number;
  maxRedirects?: number;
  /** Abort the download; temp files are removed and the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** What {@link downloadCifar10} did. */
export interface DownloadCifar10Result {
  /** The installed dataset directory. */
  dir: string;
  /** true when a valid dataset was already there and nothing was fetched. */
  cached: boolean;
  source: string;
  /** Verified MD5 of the archive (absent on a cache hit). */
  md5?: string;
  /** Archive size in bytes (0 on a cache hit). */
  bytes: number;
  /** Record counts of the installed dataset. */
  train: number;
  test: number;
}

/** `undefined` when `source` is an http(s) URL, else the local path it names. */
function localPath(source: string): string | undefined {
  if (/^https?:\/\//i.test(source)) return undefined;
  if (/^file:\/\//i.test(source)) return fileURLToPath(source);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) throw new ConfigError('url', source, 'an http(s) URL, a file:// URL or a local path');
  return path.resolve(source);
}

/** A pass-through that hashes and counts bytes and reports progress. */
function hashingCounter(onProgress: DownloadCifar10Options['onProgress'], totalBytes: number | undefined) {
  const hash = createHash('md5');
  let received = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      received += chunk.length;
      onProgress?.(received, totalBytes);
      callback(null, chunk);
    },
  });
  return { stream, received: () => received, digest: () => hash.digest('hex') };
}

interface Response {
  req: http.ClientRequest;
  res: http.IncomingMessage;
  /** Set when the idle timeout fired (the body stream then only reports a bare "aborted"). */
  timeout: { message?: string };
}

/** GET one URL, resolving on response headers. */
function get(url: URL, idleTimeoutMs: number, signal: AbortSignal | undefined): Promise<Response> {
  return new Promise((resolve, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const timeout: Response['timeout'] = {};
    const req = client.get(url, { timeout: idleTimeoutMs, signal, headers: { 'user-agent': 'encourage-data/0.1' } }, (res) => resolve({ req, res, timeout }));
    // The socket timeout also covers connect and every gap between body chunks.
    req.on('timeout', () => {
      timeout.message = `no data for ${idleTimeoutMs} ms`;
      req.destroy(new DownloadError(timeout.message, url.href));
    });
    req.on('error', reject);
  });
}

/** Stream an HTTP source into `file`, following redirects; returns MD5 and size. */
async function fetchToFile(source: string, file: string, options: DownloadCifar10Options, log: Logger): Promise<{ md5: string; bytes: number }> {
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_DOWNLOAD_IDLE_TIMEOUT_MS;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  let url = new URL(source);
  for (let hops = 0; ; hops++) {
    let response: Response;
    try {
      response = await get(url, idleTimeoutMs, options.signal);
    } catch (err) {
      if (err instanceof DownloadError || options.signal?.aborted) throw err;
      throw new DownloadError(`request failed: ${(err as Error).message}`, url.href, { cause: err });
    }
    const { req, res, timeout } = response;
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (REDIRECT_STATUSES.has(status) && location !== undefined) {
      res.resume();
      if (hops >= maxRedirects) throw new DownloadError(`more than ${maxRedirects} redirects`, source);
      const next = new URL(location, url);
      log.debug({ from: url.href, to: next.href, status }, 'following redirect');
      url = next;
      continue;
    }
    if (status !== 200) {
      res.resume();
      throw new DownloadError(`HTTP ${status} ${res.statusMessage ?? ''}`.trim(), url.href);
    }
    const lengthHeader = res.headers['content-length'];
    const totalBytes = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    const counter = hashingCounter(options.onProgress, totalBytes);
    try {
      await pipeline(res, counter.stream, createWriteStream(file), { signal: options.signal });
    } catch (err) {
      req.destroy();
      if (options.signal?.aborted) throw err;
      const detail = timeout.message ?? (err as Error).message;
      throw new DownloadError(
        `transfer failed after ${counter.received()} of ${totalBytes ?? 'unknown'} bytes: ${detail}`,
        url.href,
        { cause: err },
      );
    }
    // A clean close before Content-Length bytes is still a truncated archive.
    if (totalBytes !== undefined && counter.received() !== totalBytes) {
      throw new DownloadError(`transfer ended after ${counter.received()} of ${totalBytes} bytes`, url.href);
    }
    return { md5: counter.digest(), bytes: counter.received() };
  }
}

/** Hash a local archive (with progress, it can be 163 MB on a slow disk). */
async function hashLocalFile(file: string, options: DownloadCifar10Options): Promise<{ md5: string; bytes: number }> {
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new InputError('not a regular file', file);
    size = info.size;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`cannot read archive: ${(err as Error).message}`, file, undefined, { cause: err });
  }
  const counter = hashingCounter(options.onProgress, size);
  const sink = new Writable({ write: (_chunk, _encoding, callback) => callback() });
  await pipeline(createReadStream(file), counter.stream, sink, { signal: options.signal });
  return { md5: counter.digest(), bytes: counter.received() };
}

/** `validateCifar10Dir` that returns undefined instead of throwing on a bad/missing dataset. */
async function validOrUndefined(dir: string, log: Logger): Promise<{ train: number; test: number } | undefined> {
  try {
    return await validateCifar10Dir(dir);
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    if (await stat(dir).then(() => true, () => false)) log.warn({ dir, err: err.message }, 'existing CIFAR-10 directory is invalid; it will be replaced');
    return undefined;
  }
}

/**
 * Move `staged` to `target` atomically. If an invalid dataset occupies `target`, it is moved
 * into `trash` (inside the temp dir, so cleanup removes it) and restored if the swap fails.
 * @returns false when another process installed a valid dataset meanwhile (ours is dropped)
 */
async function install(staged: string, target: string, trash: string, log: Logger): Promise<boolean> {
  try {
    await rename(staged, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
  }
  if ((await validOrUndefined(target, log)) !== undefined) return false;
  await rename(target, trash);
  try {
    await rename(staged, target);
  } catch (err) {
    await rename(trash, target).catch(() => undefined);
    throw err;
  }
  return true;
}

/**
 * Download (or copy from a local file), verify and install CIFAR-10 into
 * `<dataDir>/cifar-10-batches-bin`. A valid dataset already there is kept and nothing is
 * fetched. On any failure the temp files are removed and an existing good dataset is untouched.
 * @throws DownloadError for HTTP errors, timeouts, truncated transfers, checksum mismatches
 *   (naming expected and actual MD5) and unusable archives; InputError for a missing local
 *   file; ConfigError for a malformed `md5` or URL scheme
 */
export async function downloadCifar10(options: DownloadCifar10Options): Promise<DownloadCifar10Result> {
  const log = options.logger ?? silentLogger;
  const source = options.url ?? CIFAR10_URL;
  const expectedMd5 = (options.md5 ?? CIFAR10_MD5).toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(expectedMd5)) throw new ConfigError('md5', options.md5, '32 hexadecimal digits');
  const local = localPath(source);
  const dataDir = path.resolve(options.dataDir);
  const target = path.join(dataDir, CIFAR10_DIR_NAME);

  const existing = await validOrUndefined(target, log);
  if (existing !== undefined) {
    log.info({ dir: target, ...existing }, 'CIFAR-10 already present; nothing to download');
    return { dir: target, cached: true, source, bytes: 0, ...existing };
  }

  await mkdir(dataDir, { recursive: true });
  const temp = await mkdtemp(path.join(dataDir, TEMP_PREFIX));
  try {
    let archive: string;
    let fetched: { md5: string; bytes: number };
    if (local === undefined) {
      archive = path.join(temp, 'cifar-10-binary.tar.gz');
      log.info({ url: source, dataDir }, 'downloading CIFAR-10');
      fetched = await fetchToFile(source, archive, options, log);
    } else {
      archive = local;
      log.info({ file: local, dataDir }, 'using local CIFAR-10 archive');
      fetched = await hashLocalFile(local, options);
    }
    if (fetched.md5 !== expectedMd5) {
      throw new DownloadError(`checksum mismatch: expected md5 ${expectedMd5}, got ${fetched.md5} (${fetched.bytes} bytes)`, local ?? source);
    }
    log.info({ md5: fetched.md5, bytes: fetched.bytes }, 'archive verified');

    options.signal?.throwIfAborted();
    const extractDir = path.join(temp, 'extract');
    await mkdir(extractDir);
    try {
      await extractTar({
        file: archive,
        cwd: extractDir,
        strict: true,
        // Only the dataset directory; tolerate a leading "./" in entry names.
        filter: (entry) => entry.replace(/^\.\//, '').split('/')[0] === CIFAR10_DIR_NAME,
      });
    } catch (err) {
      throw new DownloadError(`cannot extract archive: ${(err as Error).message}`, local ?? source, { cause: err });
    }
    const staged = path.join(extractDir, CIFAR10_DIR_NAME);
    let counts: { train: number; test: number };
    try {
      counts = await validateCifar10Dir(staged);
    } catch (err) {
      if (!(err instanceof InputError)) throw err;
      throw new DownloadError(`archive does not hold a valid ${CIFAR10_DIR_NAME}/: ${err.message}`, local ?? source, { cause: err });
    }

    options.signal?.throwIfAborted();
    const installed = await install(staged, target, path.join(temp, 'replaced'), log);
    if (!installed) log.info({ dir: target }, 'another process installed CIFAR-10 meanwhile; keeping it');
    else log.info({ dir: target, ...counts }, 'CIFAR-10 installed');
    return { dir: target, cached: !installed, source, md5: fetched.md5, bytes: fetched.bytes, ...counts };
  } catch (err) {
    // Node reports an abort as a generic AbortError; the caller's reason says why.
    if (options.signal?.aborted && options.signal.reason !== undefined) throw options.signal.reason;
    throw err;
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
}
