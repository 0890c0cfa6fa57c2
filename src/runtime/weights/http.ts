// Weights folders over HTTP: the same files `netspec weights import` writes, fetched.
import { MANIFEST_FILE, readWeightsFolderFrom, WeightsError, type WeightsFolder } from './folder.js';

/**
 * Fetches a weights folder by the URL of the folder or of its model.json (relative URLs resolve against the page),
 * checking it as a folder on disk is checked. A failed request, an HTTP error or a short shard is one error naming
 * the URL.
 */
export function fetchWeightsFolder(url: string): Promise<WeightsFolder> {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  const manifestUrl = new URL(/\.json$/i.test(url) ? url : `${url.replace(/\/?$/, '/')}${MANIFEST_FILE}`, base);
  const folderUrl = new URL('.', manifestUrl);
  return readWeightsFolderFrom(folderUrl.href, (file) => fetchBytes(file === MANIFEST_FILE ? manifestUrl : new URL(file, folderUrl)));
}

async function fetchBytes(url: URL): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (error) {
    // Browsers give no detail for network failures and refused cross-origin requests alike.
    throw new WeightsError(`cannot fetch ${url.href}: the request failed (${(error as Error).message}); the server may be unreachable or refuse cross-origin requests (CORS)`);
  }
  if (!response.ok) throw new WeightsError(`cannot fetch ${url.href}: HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  return new Uint8Array(await response.arrayBuffer());
}
