// initBackend's default order in a page: webgpu (the page imports @tensorflow/tfjs-backend-webgpu), webgl, wasm, cpu,
// each tried only if it initialises, and one line saying which runs and why those before it did not. This machine
// has no GPU: Chromium offers navigator.gpu but no adapter, so webgpu fails and webgl runs on SwiftShader.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { BackendPageResult } from './browser/backend-page.js';
import { browserSkipReason, bundlePage, evaluateWithin, launchChromium, newPage, serve } from './support/browser.js';

const skip = browserSkipReason();
const define = skip === undefined ? test : test.skip;
const folder = mkdtempSync(join(tmpdir(), 'netspec-browser-backend-'));

test.after(() => rmSync(folder, { recursive: true, force: true }));

define('a page tries webgpu first, passes over WebGL rendered in software, and says why it runs wasm', async () => {
  const { html } = await bundlePage('test/browser/backend-page.ts', folder, 'netspec backend choice');
  const served = await serve(folder);
  const browser = await launchChromium({ webgl: true });
  try {
    const { page } = await newPage(browser);
    await page.goto(`${served.url}${html}`);
    const result = await evaluateWithin(page, () => (globalThis as { __result?: Promise<BackendPageResult> }).__result!);
    assert.equal(result.log.length, 1, result.log.join('\n'));
    const line = result.log[0]!;
    if (result.backend === 'webgpu') {
      assert.is(line, 'netspec: TensorFlow.js backend webgpu', 'a machine with a WebGPU adapter runs it');
    } else {
      // Headless Chromium renders WebGL with SwiftShader, tens of times slower than wasm: passed over, saying so.
      assert.is(result.backend, 'wasm');
      const why = result.hasWebGpu ? 'the browser has no WebGPU adapter (no GPU, or WebGPU is switched off)' : 'this browser has no WebGPU';
      assert.match(line, /^netspec: TensorFlow\.js backend wasm \([^)]*\); webgpu unavailable: /, line);
      assert.ok(line.includes(`; webgpu unavailable: ${why}; `), line);
      assert.match(
        line,
        /; webgl unavailable: WebGL is rendered in software here \([^)]*SwiftShader[^)]*\), far slower than wasm; ask for backend 'webgl' to use it anyway$/,
        line,
      );
      console.log(`\n  ${line}`);
    }
  } finally {
    await browser.close();
    await served.close();
  }
});

if (skip !== undefined) console.log(`\n  browser-backend.test.ts ${skip}\n`);

test.run();
