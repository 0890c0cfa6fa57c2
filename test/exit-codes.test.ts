// One error path for every command: a bug anywhere under a command exits 70 with the bug-report message, whatever the
// command was doing when it met it, and a user error exits 1 with its one line and no stack.
//
// The bug is planted from outside the package: each run of the built command line is started with `node --import` of
// an entry written here, which registers module hooks (node:module's register) that hand every importer of one dist/
// module a stand-in re-exporting the real module with one export replaced by a function throwing an InternalError.
// netspec itself carries no switch for it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { importCheckpoint } from '../src/weights/convert.js';
import { writeWeightsFolder } from '../src/weights/folder.js';
import { readSafetensors, writeSafetensors } from '../src/weights/safetensors.js';
import { checkpointFor } from './support/checkpoint.js';
import { TINY_FASHION_SPEC } from './support/tiny-fashion.js';

const cli = resolve('dist', 'cli.js');
const distUrl = (file: string) => pathToFileURL(resolve('dist', file)).href;

const BUG_REPORT = 'netspec: internal error, please report it with the spec that caused it:\n';
/** The line commands that run a model print first, naming the TensorFlow.js backend or the engine that runs it. */
const BACKEND_LINE = /^netspec: (TensorFlow\.js backend|running \S+ on) .*\n/;

/**
 * Module hooks that replace the export `data.name` of the module `data.module` for every importer: the stand-in
 * re-exports the real module (loaded under a query, so that it is not replaced in turn) and defines the name anew.
 */
const HOOKS = `
const STAND_IN = 'netspec-test:planted-bug';
let plant;
export function initialize(data) {
  plant = data;
}
export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  return resolved.url === plant.module ? { url: STAND_IN, shortCircuit: true } : resolved;
}
export async function load(url, context, nextLoad) {
  if (url !== STAND_IN) return nextLoad(url, context);
  const source = [
    \`export * from \${JSON.stringify(plant.module + '?real')};\`,
    \`import { InternalError } from \${JSON.stringify(plant.internalError)};\`,
    \`export function \${plant.name}() { throw new InternalError('planted in \${plant.name} by the exit-code test'); }\`,
  ].join('\\n');
  return { format: 'module', source, shortCircuit: true };
}
`;

const root = mkdtempSync(join(tmpdir(), 'netspec-exit-'));
const spec = JSON.stringify(TINY_FASHION_SPEC);
writeFileSync(join(root, 'tiny.json'), spec);
writeFileSync(join(root, 'hooks.mjs'), HOOKS);
writeFileSync(join(root, 'image.png'), 'decoding is planted, so any bytes do');
mkdirSync(join(root, 'folder'));
writeFileSync(join(root, 'file.txt'), 'not a folder\n');
const compiled = compileSpec('tiny.json', new TextEncoder().encode(spec));
if (!compiled.ok) throw new Error('the tiny spec compiles');
const checkpoint = readSafetensors('tiny.safetensors', writeSafetensors(checkpointFor(compiled.graph)));
const imported = importCheckpoint(compiled.graph, 'tiny.safetensors', checkpoint);
writeWeightsFolder(join(root, 'weights'), compiled.graph.name, imported.weights, imported.skippedLayers);

/** Runs the built command line in the scratch folder, with `plant` replacing one export of one dist/ module. */
function netspec(args: readonly string[], plant?: { readonly module: string; readonly name: string }) {
  const imports: string[] = [];
  if (plant) {
    const entry = join(root, `plant-${plant.name}.mjs`);
    const data = { module: distUrl(plant.module), name: plant.name, internalError: distUrl('errors/internal-error.js') };
    writeFileSync(
      entry,
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(root, 'hooks.mjs')).href)}, { data: ${JSON.stringify(data)} });\n`,
    );
    imports.push('--import', pathToFileURL(entry).href);
  }
  const run = spawnSync(process.execPath, [...imports, cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr.replace(BACKEND_LINE, '') };
}

/**
 * Each command, run as a user would, with a bug planted in what it calls where it used to turn any error into exit 1:
 * reading a weights folder, a checkpoint or an image. compile and check meet theirs in the compiler over files.
 */
const planted: readonly { readonly command: string; readonly args: readonly string[]; readonly module: string; readonly name: string }[] = [
  { command: 'compile', args: ['compile', 'tiny.json', '--out', 'generated'], module: 'project/compile-files.js', name: 'planCompile' },
  { command: 'check', args: ['check', 'tiny.json'], module: 'project/compile-files.js', name: 'compileSpecFile' },
  {
    command: 'weights',
    args: ['weights', 'export', 'tiny.json', 'weights', '--out', 'tiny-out.safetensors'],
    module: 'runtime/weights/read-folder.js',
    name: 'readWeightsFolder',
  },
  { command: 'predict', args: ['predict', 'tiny.json', '--weights', 'weights', 'image.png'], module: 'runtime/images/decode.js', name: 'decodeImage' },
  {
    command: 'export',
    args: ['export', 'onnx', 'tiny.json', '--weights', 'weights', '--out', 'tiny.onnx'],
    module: 'runtime/weights/read-folder.js',
    name: 'readWeightsFolder',
  },
  {
    command: 'train',
    args: ['train', 'tiny.json', '--data', 'fashion-mnist', '--out', 'run', '--resume'],
    module: 'train/checkpoint.js',
    name: 'readRunCheckpoint',
  },
  {
    command: 'eval',
    args: ['eval', 'tiny.json', '--weights', 'weights', '--data', 'fashion-mnist'],
    module: 'runtime/weights/read-folder.js',
    name: 'readWeightsFolder',
  },
  { command: 'verify', args: ['verify', 'tiny.json', '--weights', 'weights'], module: 'runtime/weights/read-folder.js', name: 'readWeightsFolder' },
];

for (const { command, args, module, name } of planted) {
  test(`${command}: a bug in ${name} exits 70 with the bug-report message and its stack`, () => {
    const run = netspec(args, { module, name });
    assert.is(run.status, 70, run.stderr);
    assert.ok(run.stderr.startsWith(`${BUG_REPORT}InternalError: planted in ${name} by the exit-code test\n`), run.stderr);
    assert.match(run.stderr, /\n\s+at /, 'the stack follows, for the report');
  });
}

/**
 * A user error of each command, and its one line per problem (compile refuses both of a spec's outputs; check prints
 * the compiler's diagnostic and count; the weights folder's line ends with Node's own words for the fault).
 */
const userErrors: readonly { readonly command: string; readonly args: readonly string[]; readonly stderr: string | RegExp }[] = [
  {
    command: 'compile',
    args: ['compile', 'tiny.json', '--out', 'file.txt'],
    stderr:
      'netspec: cannot write file.txt/tiny.ts: file.txt is a file, not a folder\nnetspec: cannot write file.txt/tiny.onnx.ts: file.txt is a file, not a folder\n',
  },
  {
    command: 'check',
    args: ['check', 'missing.json'],
    stderr: 'missing.json:1:1: error NS001: cannot read the spec: no such file or folder\n1 error in 1 spec\n',
  },
  {
    command: 'weights',
    args: ['weights', 'export', 'tiny.json', 'nowhere', '--out', 'tiny-out.safetensors'],
    stderr: 'netspec: cannot read nowhere/model.json: no such file or folder\n',
  },
  {
    command: 'predict',
    args: ['predict', 'tiny.json', '--weights', 'weights', 'missing.png'],
    stderr: 'netspec: cannot read the image missing.png: no such file or folder\n',
  },
  { command: 'export', args: ['export', 'onnx', 'tiny.json', '--out', 'folder'], stderr: 'netspec: cannot write folder: it is a folder\n' },
  {
    command: 'train',
    args: ['train', 'tiny.json', '--data', 'nowhere'],
    stderr: 'netspec: nowhere: not a folder of class folders (or of train/ and val/ folders)\n',
  },
  {
    command: 'eval',
    args: ['eval', 'tiny.json', '--weights', 'nowhere', '--data', 'fashion-mnist'],
    stderr: 'netspec: cannot read nowhere/model.json: no such file or folder\n',
  },
  { command: 'verify', args: ['verify', 'tiny.json', '--weights', 'nowhere'], stderr: 'netspec: cannot read nowhere/model.json: no such file or folder\n' },
];

for (const { command, args, stderr } of userErrors) {
  test(`${command}: a user error exits 1 with one line per problem and no stack`, () => {
    const run = netspec(args);
    assert.is(run.status, 1, run.stderr);
    if (typeof stderr === 'string') assert.is(run.stderr, stderr);
    else assert.match(run.stderr, stderr);
  });
}

/** Runs the built command line in the scratch folder where onnxruntime-node cannot be found, as in a project that never installed the optional peer. */
/** Runs the command line as if onnxruntime-node were not installed, or (`broken`) installed without its native library. */
function withoutOnnxRuntime(args: readonly string[], fault: 'missing' | 'broken' = 'missing') {
  const entry = join(root, 'no-ort.mjs');
  const error =
    fault === 'missing'
      ? `Object.assign(new Error("Cannot find package 'onnxruntime-node'"), { code: 'ERR_MODULE_NOT_FOUND' })`
      : `new Error('libonnxruntime.so.1: cannot open shared object file: No such file or directory\\nRequire stack: …')`;
  writeFileSync(
    join(root, 'no-ort-hooks.mjs'),
    `export async function resolve(specifier, context, next) {
  if (specifier === 'onnxruntime-node') throw ${error};
  return next(specifier, context);
}`,
  );
  writeFileSync(entry, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(root, 'no-ort-hooks.mjs')).href)});\n`);
  return spawnSync(process.execPath, ['--import', pathToFileURL(entry).href, cli, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
}

const ONNX_MISSING =
  'netspec: onnxruntime-node is not installed; install it in your project with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node` to run ONNX models\n';

test('where onnxruntime-node is not installed, export --quantize int8 and eval and predict --runtime onnx exit 1 saying how to install it', () => {
  mkdirSync(join(root, 'calibration'), { recursive: true });
  const png = new PNG({ width: 28, height: 28 });
  png.data.forEach((_, i) => (png.data[i] = (i * 7) % 256));
  writeFileSync(join(root, 'calibration', 'a.png'), PNG.sync.write(png));
  const quantize = ['--quantize', 'int8', '--calibrate', 'calibration', '--calibration-images', '1', '--out', 'tiny.int8.onnx'];
  for (const args of [
    ['export', 'onnx', 'tiny.json', '--weights', 'weights', ...quantize],
    ['eval', 'tiny.json', '--weights', 'weights', '--data', 'fashion-mnist', '--runtime', 'onnx'],
    ['predict', 'tiny.json', '--weights', 'weights', '--runtime', 'onnx', join('calibration', 'a.png')],
  ]) {
    const run = withoutOnnxRuntime(args);
    assert.is(run.status, 1, run.stderr);
    assert.is(run.stderr.replace(/^netspec: TensorFlow\.js backend .*\n/, ''), ONNX_MISSING, args[0]);
  }
  // auto runs TensorFlow.js instead, and says how to run faster.
  const auto = withoutOnnxRuntime(['predict', 'tiny.json', '--weights', 'weights', join('calibration', 'a.png')]);
  assert.is(auto.status, 0, auto.stderr);
  assert.match(auto.stderr, /^netspec: running tiny_fashion on TensorFlow\.js \(\w+\); install onnxruntime-node for faster inference\n$/);
});

test('where onnxruntime-node is installed but does not load, auto says why it runs TensorFlow.js, and --runtime onnx is one line', () => {
  const image = join('calibration', 'a.png');
  const auto = withoutOnnxRuntime(['predict', 'tiny.json', '--weights', 'weights', image], 'broken');
  assert.is(auto.status, 0, auto.stderr);
  assert.match(
    auto.stderr,
    /^netspec: running tiny_fashion on TensorFlow\.js \(\w+\): onnxruntime-node is installed but does not load \(libonnxruntime\.so\.1: cannot open shared object file: No such file or directory\)\n$/,
  );
  const onnx = withoutOnnxRuntime(['predict', 'tiny.json', '--weights', 'weights', '--runtime', 'onnx', image], 'broken');
  assert.is(onnx.status, 1, onnx.stderr);
  assert.is(
    onnx.stderr.replace(/^netspec: TensorFlow\.js backend .*\n/, ''),
    'netspec: onnxruntime-node is installed but does not load (libonnxruntime.so.1: cannot open shared object file: No such file or directory); reinstall it with `ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node`\n',
  );
});

test.after(() => rmSync(root, { recursive: true, force: true }));

test.run();
