// Weights folders over HTTP: the same files `netspec weights import` writes, fetched, in Node and in browsers alike.
import { type ByteBudget, MANIFEST_FILE, readWeightsFolderFrom, WeightsError, type WeightsFolder } from './folder.js';

/** How long a request may wait for its response, or for the next bytes of its body, unless told otherwise. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** The slowest download a body of declared length is given time for, beyond the timeout: 64 KiB a second. */
export const MIN_BYTES_PER_SECOND = 64 * 1024;

export interface FetchOptions {
  /** Gives up loading when aborted: the load rejects with the signal's reason and every request is cancelled. */
  readonly signal?: AbortSignal;
  /**
   * Milliseconds a request may wait for its response, and then for each next part of its body, before it is given up
   * as stalled (default DEFAULT_TIMEOUT_MS): a slow download that keeps arriving is never cut short. A body whose
   * length the server declares is read whole instead, and may take this long plus its size at MIN_BYTES_PER_SECOND.
   */
  readonly timeoutMs?: number;
}

/**
 * Fetches a weights folder by the URL of the folder or of its model.json (relative URLs resolve against the page),
 * checking it as a folder on disk is checked. Shards are fetched relative to where the manifest was finally found
 * after redirects, and none beyond the bytes the manifest describes is taken. Each way a request fails (an HTTP
 * error, a timeout, too many bytes, a redirect loop, a refused connection) is one WeightsError naming the URL.
 */
export function fetchWeightsFolder(url: string, options: FetchOptions = {}): Promise<WeightsFolder> {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const manifestUrl = new URL(/\.json$/i.test(url) ? url : `${url.replace(/\/?$/, '/')}${MANIFEST_FILE}`, base);
  if (manifestUrl.protocol === 'file:') {
    return Promise.reject(
      new WeightsError(`cannot fetch ${manifestUrl.href}: a page cannot fetch file: URLs; serve the folder over HTTP (in Node, give its path)`),
    );
  }
  let folderUrl = new URL('.', manifestUrl);
  return readWeightsFolderFrom(folderUrl.href, {
    read: async (file, budget) => {
      if (file !== MANIFEST_FILE) return (await fetchBytes(new URL(file, folderUrl), budget, options)).bytes;
      const manifest = await fetchBytes(manifestUrl, budget, options);
      // A redirected manifest's shards sit beside where it was found, not where it was asked for.
      folderUrl = new URL('.', manifest.url);
      return manifest.bytes;
    },
  });
}

/** Why a request was given up, kept apart from the caller's abort. */
class Stalled extends Error {}

/** One request's watch: the caller's signal forwarded, a deadline re-armed as bytes arrive, failures in words. */
class Watch {
  readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly forward = () => this.controller.abort(this.signal?.reason);

  constructor(
    private readonly url: URL,
    private readonly signal: AbortSignal | undefined,
  ) {
    signal?.throwIfAborted();
    signal?.addEventListener('abort', this.forward);
  }

  /** Gives the request up as stalled unless re-armed within `ms`. */
  arm(ms: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.controller.abort(new Stalled()), ms);
  }

  fail(why: string): WeightsError {
    return new WeightsError(`cannot fetch ${this.url.href}: ${why}`);
  }

  /** What a rejected wait means: the caller's abort as it is, a stall in `stalled`'s words, else `otherwise`. */
  failure(stalled: string, otherwise: string): unknown {
    if (this.signal?.aborted) return this.signal.reason;
    return this.fail(this.controller.signal.reason instanceof Stalled ? `${stalled} (timed out)` : otherwise);
  }

  close(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.forward);
  }
}

/** The body's bytes and the URL it finally came from; no more than the budget allows is kept. */
async function fetchBytes(url: URL, budget: ByteBudget, options: FetchOptions): Promise<{ bytes: Uint8Array; url: string }> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const watch = new Watch(url, options.signal);
  try {
    watch.arm(timeoutMs);
    let response: Response;
    try {
      response = await fetch(url, { signal: watch.controller.signal });
    } catch (error) {
      throw watch.failure(`no response in ${timeoutMs / 1000} s`, requestFailure(error));
    }
    if (!response.ok) throw watch.fail(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
    const declared = Number(response.headers.get('content-length') ?? NaN);
    if (declared > budget.remaining) throw watch.fail(`the server sends ${declared} bytes, more than the ${budget.remaining} the manifest leaves for it`);
    const bytes = Number.isFinite(declared)
      ? await readDeclared(response, declared, budget, watch, timeoutMs)
      : await readStreamed(response, budget, watch, timeoutMs);
    return { bytes, url: response.url || url.href };
  } finally {
    watch.close();
  }
}

/**
 * A body of declared length, already known to fit the budget, read whole within the timeout plus its size at
 * MIN_BYTES_PER_SECOND: Chromium reports a body read to its end through a stream as a cancelled request
 * (net::ERR_ABORTED).
 */
async function readDeclared(response: Response, declared: number, budget: ByteBudget, watch: Watch, timeoutMs: number): Promise<Uint8Array> {
  const deadlineMs = timeoutMs + (1000 * declared) / MIN_BYTES_PER_SECOND;
  watch.arm(deadlineMs);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw watch.failure(`the ${declared} bytes it declares did not arrive in ${deadlineMs / 1000} s`, `the transfer broke off (${(error as Error).message})`);
  }
  if (!budget.spend(bytes.length)) throw watch.fail(`it holds more bytes than the manifest describes: ${bytes.length}`);
  return bytes;
}

/** A body of unknown length, read part by part, each part within the timeout, and no further than the budget. */
async function readStreamed(response: Response, budget: ByteBudget, watch: Watch, timeoutMs: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = response.body?.getReader();
  for (;;) {
    watch.arm(timeoutMs);
    let part: { done: boolean; value?: Uint8Array };
    try {
      part = reader ? await reader.read() : { done: true, value: undefined };
    } catch (error) {
      throw watch.failure(
        `the server sent ${received} bytes, then nothing for ${timeoutMs / 1000} s`,
        `the transfer broke off after ${received} bytes (${(error as Error).message})`,
      );
    }
    if (part.done || part.value === undefined) return joined(chunks, received);
    received += part.value.length;
    if (!budget.spend(part.value.length)) {
      watch.controller.abort();
      throw watch.fail(`it holds more bytes than the manifest describes; stopped after ${received}`);
    }
    chunks.push(part.value);
  }
}

/**
 * What a failed request tells of its cause. Node's fetch gives it (`cause`: a refused connection, an unknown host,
 * a redirect loop); a browser's gives one bare TypeError for a network failure, a refused cross-origin request and
 * a redirect loop alike, so the message names all three.
 */
function requestFailure(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause === undefined || cause === null) {
    return `the request failed (${(error as Error).message}): the server is unreachable, refuses cross-origin requests (CORS), or redirects in a loop`;
  }
  const code = typeof cause.code === 'string' ? cause.code : undefined;
  const message = typeof cause.message === 'string' ? cause.message : String(cause);
  if (/redirect count exceeded/i.test(message)) return 'too many redirects (a redirect loop)';
  const known: Record<string, string> = {
    ECONNREFUSED: 'the server refused the connection',
    ENOTFOUND: 'the host name is not known',
    ECONNRESET: 'the server closed the connection',
    ETIMEDOUT: 'the connection timed out',
    EHOSTUNREACH: 'the host cannot be reached',
  };
  return code !== undefined && Object.hasOwn(known, code) ? `${known[code]} (${code})` : `the request failed (${message})`;
}

function joined(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  return bytes;
}
