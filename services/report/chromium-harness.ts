/**
 * Test and docs harness: open report pages in the system's headless Chromium (Debian package
 * `chromium`, installed by `.ci/run`) through playwright-core, which drives a browser it did not
 * download. Not part of the shipped command (playwright-core is a dev dependency).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Flags for a sandbox-free, offline, quiet browser: no sandbox (CI runs as root), no GPU, and no
 * background network traffic of its own (component updates, sync, QUIC probes).
 */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Thrown when the browser is not installed, saying how to install it. */
export class ChromiumMissingError extends Error {
  override readonly name = 'ChromiumMissingError';
  constructor(readonly path: string) {
    super(`headless Chromium not found at ${path}: install the Debian package (apt-get install -y chromium); .ci/run does this`);
  }
}

export interface BrowserSession {
  /** Open `file` (a local path) in a new page and wait for it to load. */
  open(file: string, viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Launch Chromium with a fresh user-data directory (no profile state shared between runs). */
export async function launchChromium(): Promise<BrowserSession> {
  if (!existsSync(CHROMIUM_PATH)) throw new ChromiumMissingError(CHROMIUM_PATH);
  const userDataDir = await mkdtemp(join(tmpdir(), 'encourage-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true, timeout: 30_000 });
  } catch (err) {
    await rm(userDataDir, { recursive: true, force: true });
    throw err;
  }
  return {
    async open(file, viewport = { width: 1280, height: 900 }) {
      const page = await context.newPage();
      await page.setViewportSize(viewport);
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 30_000 });
      return page;
    },
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/** What the page shows of one `<img>`: decoded size and the report's attributes. */
export interface ImageState {
  readonly alt: string;
  readonly chart: string | null;
  readonly complete: boolean;
  readonly naturalWidth: number;
  readonly naturalHeight: number;
  readonly srcIsDataUri: boolean;
}

/** Every image of the page, as the browser decoded it (after waiting for decoding to finish). */
export async function pageImages(page: Page): Promise<ImageState[]> {
  return page.$$eval('img', async (imgs) => {
    await Promise.all(imgs.map((img) => img.decode().catch(() => undefined)));
    return imgs.map((img) => ({
      alt: img.alt,
      chart: img.getAttribute('data-chart'),
      complete: img.complete,
      naturalWidth: img.naturalWidth,
      naturalHeight: img.naturalHeight,
      srcIsDataUri: img.src.startsWith('data:image/png;base64,'),
    }));
  });
}
