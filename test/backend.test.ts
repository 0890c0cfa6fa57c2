// Backend choice: the fastest backend that loads, one line naming it, and NETSPEC_BACKEND to force one.
import { spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

/** Initialises the backend in a fresh process, since a backend choice is global to the process. */
function initIn(env: Record<string, string>) {
  const script = "import { initBackend } from './src/runtime/backends/node.ts'; console.log('chosen', await initBackend());";
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const tensorflowMissing = 'tensorflow unavailable: @tensorflow/tfjs-node-gpu and @tensorflow/tfjs-node not installed';

test('without libtensorflow installed, wasm runs and one line says why', () => {
  const run = initIn({ NETSPEC_BACKEND: '' });
  assert.is(run.status, 0, run.stderr);
  assert.is(run.stderr, `netspec: TensorFlow.js backend wasm; ${tensorflowMissing}\n`);
  assert.is(run.stdout, 'chosen wasm\n');
});

test('NETSPEC_BACKEND=cpu forces the cpu backend, silently apart from its line', () => {
  const run = initIn({ NETSPEC_BACKEND: 'cpu' });
  assert.is(run.stderr, 'netspec: TensorFlow.js backend cpu\n');
  assert.is(run.stdout, 'chosen cpu\n');
});

test('NETSPEC_BACKEND=tensorflow falls back to wasm when libtensorflow cannot load', () => {
  const run = initIn({ NETSPEC_BACKEND: 'tensorflow' });
  assert.is(run.stderr, `netspec: TensorFlow.js backend wasm; ${tensorflowMissing}\n`);
});

test('an unknown NETSPEC_BACKEND is refused by name', () => {
  const run = initIn({ NETSPEC_BACKEND: 'gpu' });
  assert.is.not(run.status, 0);
  assert.match(run.stderr, /NETSPEC_BACKEND must be one of tensorflow, wasm, cpu; got "gpu"/);
});

test.run();
