// A harness for tests that run in a real, headless Chromium: Debian's /usr/bin/chromium driven by playwright-core,
// which never downloads a browser of its own. It bundles a page script with esbuild, serves a folder over loopback
// HTTP (cross-origin isolated by default, so SharedArrayBuffer and wasm threads are available), launches the browser
// with the flags a root, sandbox-less, GPU-less machine needs, and collects what a page reports as an error.
//
// Debian's chromium need not be the version a playwright-core release was built against (156 here, where
// playwright-core 1.65 names 159); Playwright speaks the DevTools protocol, which is stable enough for this.
// /usr/bin/chromium is Debian's wrapper script: it adds the flags in /etc/chromium.d and execs the browser. WebGL
// works headless on the SwiftShader inside Debian's chromium; `webgl: true` asks for it explicitly.
import { spawnSync } from 'node:child_process';
import { copyFileSync, realpathSync, writeFileSync } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join, resolve, sep } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Debian's chromium; CI installs it with apt-get. */
export const CHROMIUM = '/usr/bin/chromium';

/** How long any one navigation, evaluation or launch may take before the test fails instead of hanging. */
export const BROWSER_TIMEOUT = 60_000;

/** The flags every launch gets: no sandbox (tests run as root), and nothing that reaches the network on its own. */
export const DEFAULT_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

/** Added for tests that need WebGL: ANGLE on SwiftShader, the CPU implementation Chromium ships, no GPU needed. */
export const WEBGL_ARGS: readonly string[] = ['--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'];

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
};

export interface ServeOptions {
  /**
   * Send Cross-Origin-Opener-Policy: same-origin, Cross-Origin-Embedder-Policy: require-corp and
   * Cross-Origin-Resource-Policy: same-origin, which make the page `crossOriginIsolated`. Default true.
   */
  readonly isolated?: boolean;
}

export interface Served {
  /** The server's root URL, ending in a slash: `http://127.0.0.1:<port>/`. */
  readonly url: string;
  /** Stops the server, dropping any kept-alive connection. */
  close(): Promise<void>;
}

/**
 * Serves the files under `root`, and nothing outside it, on an ephemeral port of 127.0.0.1. GET and HEAD only;
 * a folder serves its index.html; a missing file, a folder without index.html, or a path whose real location
 * (after symbolic links) leaves `root` is a 404; a path with `..`, a backslash, a NUL or bad percent-encoding is a 400.
 */
export async function serve(root: string, options: ServeOptions = {}): Promise<Served> {
  const isolated = options.isolated ?? true;
  const base = realpathSync(resolve(root));
  const server = createServer((request, response) => {
    handle(base, isolated, request, response).catch((error: unknown) => {
      if (!response.headersSent) reply(response, 500, isolated, `${error instanceof Error ? error.message : String(error)}\n`);
      else response.destroy();
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', fail);
      done();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

function policyHeaders(isolated: boolean): Record<string, string> {
  const headers: Record<string, string> = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
  if (isolated) {
    headers['Cross-Origin-Opener-Policy'] = 'same-origin';
    headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    headers['Cross-Origin-Resource-Policy'] = 'same-origin';
  }
  return headers;
}

function reply(response: ServerResponse, status: number, isolated: boolean, text: string, extra: Record<string, string> = {}): void {
  response.writeHead(status, { ...policyHeaders(isolated), 'Content-Type': 'text/plain; charset=utf-8', ...extra });
  response.end(text);
}

async function handle(base: string, isolated: boolean, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    reply(response, 405, isolated, 'method not allowed\n', { Allow: 'GET, HEAD' });
    return;
  }
  // The raw path, before any URL normalisation, so that `/a/../b` is refused rather than silently resolved.
  const rawPath = (request.url ?? '/').split(/[?#]/, 1)[0] ?? '/';
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    reply(response, 400, isolated, 'bad percent-encoding\n');
    return;
  }
  const segments = path.split('/');
  if (!path.startsWith('/') || path.includes('\0') || path.includes('\\') || segments.includes('..')) {
    reply(response, 400, isolated, 'bad path\n');
    return;
  }
  let file = join(base, ...segments.filter((s) => s !== '' && s !== '.'));
  if (file !== base && !file.startsWith(base + sep)) {
    reply(response, 400, isolated, 'bad path\n');
    return;
  }
  try {
    if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
    const real = await realpath(file);
    if (!real.startsWith(base + sep)) throw new Error('outside the served folder');
    const handleToFile = await open(real, 'r');
    try {
      const info = await handleToFile.stat();
      if (!info.isFile()) throw new Error('not a file');
      const type = CONTENT_TYPES[extname(real).toLowerCase()] ?? 'application/octet-stream';
      response.writeHead(200, { ...policyHeaders(isolated), 'Content-Type': type, 'Content-Length': String(info.size) });
      if (request.method === 'HEAD') {
        response.end();
        return;
      }
      response.end(await handleToFile.readFile());
    } finally {
      await handleToFile.close();
    }
  } catch {
    if (!response.headersSent) reply(response, 404, isolated, 'not found\n');
  }
}

export interface LaunchOptions {
  /** Add WEBGL_ARGS, for a test that wants the webgl backend on SwiftShader. Default false. */
  readonly webgl?: boolean;
  /** Replace DEFAULT_ARGS (WEBGL_ARGS are still added when `webgl` is set). */
  readonly args?: readonly string[];
}

/**
 * Launches /usr/bin/chromium headless. Playwright gives it a fresh temporary profile and removes it on close;
 * close it in a `finally`. Throws, saying why, when chromium is not installed.
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const status = chromiumAvailable();
  if (!status.available) throw new Error(status.reason);
  const args = [...(options.args ?? DEFAULT_ARGS), ...(options.webgl ? WEBGL_ARGS : [])];
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args, timeout: BROWSER_TIMEOUT });
}

export interface PageOptions {
  /**
   * What `navigator.hardwareConcurrency` reports (Chrome DevTools Protocol emulation), set before any navigation.
   * tfjs-backend-wasm caps its thread pool at half of it, so a test that wants N wasm threads asks for 2·N,
   * whatever the machine has.
   */
  readonly hardwareConcurrency?: number;
}

/** A new page in its own context, with navigation and waits bounded by BROWSER_TIMEOUT. */
export async function newPage(browser: Browser, options: PageOptions = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  context.setDefaultTimeout(BROWSER_TIMEOUT);
  context.setDefaultNavigationTimeout(BROWSER_TIMEOUT);
  const page = await context.newPage();
  if (options.hardwareConcurrency !== undefined) {
    const session = await context.newCDPSession(page);
    await session.send('Emulation.setHardwareConcurrencyOverride', { hardwareConcurrency: options.hardwareConcurrency });
  }
  return { context, page };
}

/**
 * `page.evaluate` takes no timeout; this one fails after `ms` (default BROWSER_TIMEOUT) instead of hanging.
 */
export async function evaluateWithin<R>(page: Page, script: () => R | Promise<R>, ms: number = BROWSER_TIMEOUT): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`page evaluation did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([page.evaluate(script), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** evaluateWithin for a script that takes one serialisable argument, passed to it in the page. */
export async function callWithin<A, R>(page: Page, script: (arg: A) => R | Promise<R>, arg: A, ms: number = BROWSER_TIMEOUT): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`page evaluation did not finish within ${ms / 1000} s`)), ms);
  });
  try {
    // Playwright types the argument as it arrives (Unboxed<A>); for plain JSON data that is A itself.
    return await Promise.race([page.evaluate(script as unknown as () => R | Promise<R>, arg), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

export interface PageErrors {
  /** Console errors, uncaught exceptions and unhandled rejections, failed requests and crashes, in order. */
  readonly messages: readonly string[];
  /** Throws, listing them, if any happened. */
  assertNone(context?: string): void;
}

/** Starts collecting what goes wrong on `page`; call before navigating. */
export function pageErrors(page: Page): PageErrors {
  const messages: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') messages.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => messages.push(`page error: ${error.stack ?? error.message}`));
  page.on('requestfailed', (request) => messages.push(`request failed: ${request.url()} (${request.failure()?.errorText ?? 'unknown'})`));
  page.on('crash', () => messages.push('page crashed'));
  return {
    messages,
    assertNone(context) {
      if (messages.length > 0) throw new Error(`${context ? `${context}: ` : ''}the page reported\n  ${messages.join('\n  ')}`);
    },
  };
}

export type ChromiumStatus = { readonly available: true; readonly version: string } | { readonly available: false; readonly reason: string };

let probed: ChromiumStatus | undefined;

/** Whether /usr/bin/chromium exists and runs (`--version` within 20 s); probed once per process. */
export function chromiumAvailable(): ChromiumStatus {
  if (probed) return probed;
  const run = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  const install = '(apt-get install -y --no-install-recommends chromium)';
  if (run.error) {
    const missing = (run.error as NodeJS.ErrnoException).code === 'ENOENT';
    probed = { available: false, reason: `${CHROMIUM} ${missing ? 'is not installed' : `does not run: ${run.error.message}`} ${install}` };
  } else if (run.status !== 0) {
    probed = {
      available: false,
      reason: `${CHROMIUM} --version exited with ${run.status ?? run.signal}: ${run.stderr.trim().split('\n')[0] ?? ''} ${install}`,
    };
  } else {
    probed = { available: true, version: run.stdout.trim().split('\n')[0] ?? '' };
  }
  return probed;
}

/**
 * Why a browser test file should skip, or undefined when it should run. It runs when chromium is available, and
 * also when CI=true without it, where the tests then fail: CI installs chromium, so its absence there is a fault.
 */
export function browserSkipReason(): string | undefined {
  const status = chromiumAvailable();
  if (status.available || process.env.CI === 'true') return undefined;
  return `skipped: ${status.reason}`;
}

/** tfjs-backend-wasm's three binaries: plain, SIMD, and threaded SIMD (picked at run time by what the page allows). */
export const WASM_FILES: readonly string[] = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

export interface BundledPage {
  /** The page's file name in the folder, e.g. `models.html`. */
  readonly html: string;
  /** What went into the bundle, as esbuild's metafile names them: paths relative to the working directory. */
  readonly inputs: readonly string[];
}

/**
 * Bundles a page script for the browser into `folder` (`<name>.js`, everything included, tfjs too, as an ES
 * module), writes `<name>.html` that loads it, and copies tfjs-backend-wasm's .wasm files beside it, where
 * setWasmPaths('./') finds them. esbuild with `platform: 'browser'` resolves each package's `browser` field and
 * the `browser` export condition, this package's own (`netspec/runtime` from inside the repository) included.
 */
export async function bundlePage(entry: string, folder: string, title: string): Promise<BundledPage> {
  const name = basename(entry).replace(/\.[cm]?[jt]s$/, '');
  const result = await build({
    entryPoints: [entry],
    outfile: join(folder, `${name}.js`),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
  });
  const html = `${name}.html`;
  writeFileSync(
    join(folder, html),
    `<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${title}</title>\n<link rel="icon" href="data:,">\n` +
      `<script type="module" src="./${name}.js"></script>\n</head>\n<body></body>\n</html>\n`,
  );
  for (const file of WASM_FILES) copyFileSync(join('node_modules/@tensorflow/tfjs-backend-wasm/dist', file), join(folder, file));
  return { html, inputs: Object.keys(result.metafile.inputs) };
}
