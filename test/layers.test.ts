// The architecture's layering, checked on every import in src/: no cycles, a runtime that needs nothing of the
// compiler, and imports that only point down the pipeline cli → commands → compile → spec → ir → ops.
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { findCycles, readImports, type Import } from './support/import-graph.js';

const { files, imports } = readImports('src');

type Layer =
  | 'cli'
  | 'commands'
  | 'train'
  | 'evaluate'
  | 'library'
  | 'compile'
  | 'build'
  | 'quantize'
  | 'emit'
  | 'weights'
  | 'data'
  | 'metrics'
  | 'spec'
  | 'ir'
  | 'ops'
  | 'runtime'
  | 'shared';

/** Where each file of src/ sits: the first entry whose path is the file or a folder holding it. A new file must be placed. */
const PLACES: readonly (readonly [string, Layer])[] = [
  ['cli.ts', 'cli'],
  ['commands/', 'commands'],
  ['train/', 'train'],
  // A model run over a dataset and scored: the loop eval runs, and training's validation.
  ['evaluate/', 'evaluate'],
  // The library API (`netspec`) and the compiler run over a project's files on disk.
  ['index.ts', 'library'],
  ['project/', 'library'],
  // The pure compiler: bytes in, analysed graph and code out.
  ['compile.ts', 'compile'],
  // The analysed graph as a live tfjs model, beside the emitters that write it as code.
  ['build/', 'build'],
  // Int8 quantisation of the ONNX target: calibrates an emitted model on images and rewrites it.
  ['quantize/', 'quantize'],
  ['emit/', 'emit'],
  ['weights/', 'weights'],
  ['data/', 'data'],
  // Scoring of predictions against labels (COCO, VOC, segmentation, classification): pure functions over data.
  ['metrics/', 'metrics'],
  ['spec/', 'spec'],
  ['ir/', 'ir'],
  ['ops/', 'ops'],
  ['runtime/', 'runtime'],
  // Leaf modules every layer may use: how problems are reported (diagnostics, errors), the user's files (paths as
  // shown, bounded reads, what netspec may overwrite and how it writes), the seeded random numbers of weights,
  // data splits and training, the SVG chart primitives of training curves and metric charts, and progress lines.
  ['errors/', 'shared'],
  ['files/', 'shared'],
  ['random/', 'shared'],
  ['charts/', 'shared'],
  ['terminal/', 'shared'],
];

/**
 * What each layer may import besides itself. Read top to bottom it is the pipeline: the command line parses and
 * dispatches; commands print and exit; training and the library sit on the compiler; compile runs spec → ir → ops,
 * each importing only below it, so spec may use ir and ops, ir only ops, and ops nothing of the compiler. Emitters,
 * the model builder and weights conversion consume the analysed graph (ir, ops) and may use the runtime, which
 * depends on nothing here. Nothing but the command line imports commands, and nothing below it imports train.
 */
const MAY_IMPORT: Readonly<Record<Layer, readonly Layer[]>> = {
  cli: ['commands', 'shared'],
  commands: ['train', 'evaluate', 'library', 'compile', 'build', 'quantize', 'emit', 'weights', 'data', 'metrics', 'spec', 'ir', 'ops', 'runtime', 'shared'],
  train: ['evaluate', 'build', 'weights', 'data', 'metrics', 'ir', 'ops', 'runtime', 'shared'],
  evaluate: ['build', 'emit', 'weights', 'data', 'metrics', 'ir', 'ops', 'runtime', 'shared'],
  library: ['compile', 'emit', 'metrics', 'spec', 'ir', 'ops', 'shared'],
  compile: ['emit', 'spec', 'ir', 'ops', 'shared'],
  build: ['emit', 'ir', 'ops', 'runtime', 'shared'],
  quantize: ['emit', 'data', 'ir', 'ops', 'runtime', 'shared'],
  emit: ['ir', 'ops', 'runtime', 'shared'],
  weights: ['ir', 'ops', 'runtime', 'shared'],
  // Datasets decode their images with the runtime's decoder.
  data: ['runtime', 'shared'],
  metrics: ['shared'],
  spec: ['ir', 'ops', 'shared'],
  ir: ['ops', 'shared'],
  // An op module names its runtime helper and folds with the runtime's arithmetic: the compiler targets the
  // runtime, which knows nothing of the compiler.
  ops: ['runtime', 'shared'],
  // output-guard recognises a weights folder by the runtime's manifest name, and a user error may be what the runtime
  // says of the weights and images it was given.
  shared: ['runtime'],
  runtime: [],
};

/**
 * Imports that still break the table, as `file → imported file`. Each is a debt, not a permission: this list must
 * shrink to empty, and the test fails when an entry no longer occurs so that it is removed with its fix.
 */
const KNOWN_UPWARD: readonly string[] = [];

function layerOf(file: string): Layer {
  const place = PLACES.find(([path]) => file === path || (path.endsWith('/') && file.startsWith(path)));
  if (!place) throw new Error(`src/${file} is in no layer; add it to PLACES in test/layers.test.ts`);
  return place[1];
}

const local = imports.filter((i): i is Import & { to: string } => i.to !== undefined);
const describe = (i: Import & { to: string }) => `${i.from} → ${i.to}`;

test('every file of src/ is placed in a layer', () => {
  for (const file of files) layerOf(file);
});

test('no import cycle among the files of src/', () => {
  const cycles = findCycles(imports).map((cycle) => cycle.join(' → '));
  assert.equal(cycles, [], `import cycles:\n  ${cycles.join('\n  ')}`);
});

test('src/runtime/ imports only itself, npm packages and Node builtins', () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: object; peerDependencies: object };
  const packages = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.peerDependencies)]);
  // A scoped package is named by two segments, any other by one; a deep import names a file inside it.
  const packageOf = (specifier: string) =>
    specifier
      .split('/')
      .slice(0, specifier.startsWith('@') ? 2 : 1)
      .join('/');
  const outside = imports
    .filter((i) => i.from.startsWith('runtime/'))
    .filter((i) =>
      i.to === undefined ? !packages.has(packageOf(i.specifier)) && !builtinModules.includes(i.specifier.replace(/^node:/, '')) : !i.to.startsWith('runtime/'),
    )
    .map((i) => `src/${i.from} imports ${i.specifier}`);
  assert.equal(outside, [], `the runtime must not depend on the compiler or on undeclared packages:\n  ${outside.join('\n  ')}`);
});

test('the compiler and `netspec check` load no TensorFlow.js: the emitter reserves the layer helpers by their tfjs-free names', () => {
  const reached = (root: string): Set<string> => {
    const files = new Set([root]);
    for (const file of files) for (const i of imports) if (i.from === file && i.to !== undefined) files.add(i.to);
    return files;
  };
  for (const root of ['compile.ts', 'commands/check-command.ts']) {
    const tfjs = imports.filter((i) => reached(root).has(i.from) && i.specifier.startsWith('@tensorflow/')).map((i) => `src/${i.from} imports ${i.specifier}`);
    assert.equal(tfjs, [], `src/${root} reaches TensorFlow.js:\n  ${tfjs.join('\n  ')}`);
  }
});

test('imports point down the layers, except the known ones listed to be fixed', () => {
  const upward = local.filter((i) => {
    const [from, to] = [layerOf(i.from), layerOf(i.to)];
    return from !== to && !MAY_IMPORT[from].includes(to);
  });
  const unexpected = upward
    .filter((i) => !KNOWN_UPWARD.includes(describe(i)))
    .map(
      (i) =>
        `src/${i.from} imports ${i.specifier}: ${layerOf(i.from)} may import ${[layerOf(i.from), ...MAY_IMPORT[layerOf(i.from)]].join(', ')}, not ${layerOf(i.to)}`,
    );
  assert.equal(unexpected, [], `imports against the layering:\n  ${unexpected.join('\n  ')}`);
  const fixed = KNOWN_UPWARD.filter((entry) => !upward.some((i) => describe(i) === entry));
  assert.equal(fixed, [], `no longer imported, so remove from KNOWN_UPWARD: ${fixed.join(', ')}`);
});

test.run();
