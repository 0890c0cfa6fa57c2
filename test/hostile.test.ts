// Text that reaches generated code: every hostile name, description and path either compiles to code that
// type-checks under `tsc --strict` and carries the text unchanged, or is rejected by validation.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { docComment, identifierScope, lineComment, stringLiteral } from '../src/emit/escape.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { typeCheck } from './support/typecheck.js';
import { pythonHas } from './support/python.js';

const hostileTexts = [
  'ends a comment */ and opens one /*',
  '// a line comment',
  'double " single \' back ` quotes',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: template syntax in plain text is the attack being tested
  '${process.exit(1)}',
  'back\\slash \\u0041 \\',
  'new\nline and \r\nCRLF and \rCR',
  'line\u2028separator and paragraph\u2029separator',
  'lone surrogates \ud800 and \udfff',
  'emoji 🧠 and 🏳️‍🌈',
  'NUL \u0000 and escape \u001b[31m',
  '*/ export const pwned = 1; /*',
  '"; export const pwned = 1; "',
  '\n export const pwned = 1;\n//',
  '</script><!--',
];

const names = [
  'class',
  'default',
  'delete',
  'tf',
  '34resnet',
  'resnet-34',
  'resnet_34',
  'constructor',
  'layers',
  'createModel',
  'x'.repeat(64),
  'F',
  'nn',
  'None',
  'lambda',
  'create_model',
  'Modules',
  'Tensor',
];

function tinySpec(name: string, description: string): string {
  return JSON.stringify({
    name,
    description,
    input: { height: 8, width: 8, channels: 1 },
    stem: { type: 'conv', width: 4, kernelSize: 3, stride: 1 },
    block: { type: 'basic' },
    stages: { widths: [4, 8], depths: [1, 1], strides: [1, 2] },
    head: { type: 'classifier', classes: 3 },
  });
}

interface Case {
  readonly file: string;
  readonly specPath: string;
  readonly name: string;
  readonly description: string;
}

const cases: Case[] = [
  ...hostileTexts.map((description, i) => ({ file: `description${i}.ts`, specPath: 'specs/x.json', name: 'tiny', description })),
  ...names.map((name, i) => ({ file: `name${i}.ts`, specPath: 'specs/x.json', name, description: '' })),
  { file: 'path0.ts', specPath: 'specs/we*/ird\n export const pwned = 1;.json', name: 'tiny', description: '' },
];

const folder = join('test', `.hostile-${process.pid}`);

test.before(async () => {
  await initBackend({ backend: 'wasm', log: () => {} });
  mkdirSync(folder, { recursive: true });
  for (const c of cases) {
    const result = compileSpec(c.specPath, new TextEncoder().encode(tinySpec(c.name, c.description)));
    if (!result.ok) throw new Error(`${c.file}: ${result.diagnostics.map((d) => d.message).join('; ')}`);
    writeFileSync(join(folder, c.file), result.code);
    writeFileSync(join(folder, c.file.replace(/\.ts$/, '.py')), result.pytorchModule);
  }
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

test('every hostile module type-checks under tsc --strict', () => {
  assert.is(typeCheck(cases.map((c) => join(folder, c.file))), '');
});

test('each module carries its text unchanged, injects nothing, and builds a working model', async () => {
  for (const c of cases) {
    const generated = await import(`./${folder.slice('test/'.length)}/${c.file}`);
    assert.equal(
      Object.keys(generated).sort(),
      [
        'createModel',
        'description',
        'imageTransform',
        'inferencePlan',
        'inputShape',
        'layers',
        'macs',
        'name',
        'outputShape',
        'params',
        'predict',
        'preprocess',
      ],
      c.file,
    );
    assert.is(generated.name, c.name, c.file);
    assert.is(generated.description, c.description, c.file);
    const model = generated.createModel() as tf.LayersModel;
    assert.is(model.name, c.name);
    const output = generated.predict(model, tf.ones([1, 8, 8, 1])) as tf.Tensor;
    assert.equal(output.shape, [1, 3]);
    output.dispose();
    model.dispose();
  }
});

const PYTHON = '/usr/bin/python3';
const havePytorch = pythonHas(PYTHON, 'torch');

/** Parses, runs and describes each generated Python module: its top-level names, NAME, DESCRIPTION, the class's docstring, an output. */
const DESCRIBE_PYTHON = `
import ast, importlib.util, json, sys, torch
for path in sys.argv[1:]:
    tree = ast.parse(open(path, encoding="utf-8").read())
    spec = importlib.util.spec_from_file_location("hostile", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.create_model().eval()
    model_class = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == type(model).__name__)
    y = model(torch.ones(1, 1, 8, 8))
    names = sorted(k for k in vars(module) if not k.startswith("__"))
    print(json.dumps({"names": names, "class": model_class.name, "NAME": module.NAME, "DESCRIPTION": module.DESCRIPTION, "doc": ast.get_docstring(model_class, clean=False), "shape": list(y.shape)}))
`;

(havePytorch ? test : test.skip)('each PyTorch module parses, carries its text unchanged, injects nothing, and runs', () => {
  const paths = cases.map((c) => join(folder, c.file.replace(/\.ts$/, '.py')));
  const run = spawnSync(PYTHON, ['-c', DESCRIBE_PYTHON, ...paths], { encoding: 'utf8' });
  assert.is(run.status, 0, run.stderr);
  const reports = run.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { names: string[]; class: string; NAME: string; DESCRIPTION: string; doc: string; shape: number[] });
  const helpers = [
    'DESCRIPTION',
    'F',
    'INPUT_SHAPE',
    'MACS',
    'NAME',
    'OUTPUT_SHAPES',
    'PARAMS',
    'Tensor',
    '_Modules',
    '_batch_norm',
    '_conv',
    'create_model',
    'nn',
    'torch',
  ];
  cases.forEach((c, i) => {
    const report = reports[i]!;
    assert.match(report.class, /^[A-Za-z_][A-Za-z0-9_]*$/, c.file);
    assert.equal(report.names, [...helpers, report.class].sort(), c.file);
    assert.is(report.NAME, c.name, c.file);
    assert.is(report.DESCRIPTION, c.description, c.file);
    // The docstring is the text made well-formed: CPython cannot build a class whose docstring has lone surrogates.
    assert.is(report.doc, (c.description || c.name).toWellFormed(), c.file);
    assert.equal(report.shape, [1, 3], c.file);
  });
});

test('stringLiteral round-trips any text', () => {
  for (const text of [...hostileTexts, '', '\ud83e', '\\u2028']) {
    const literal = stringLiteral(text);
    assert.not.match(literal, /[\n\r\u2028\u2029]/);
    assert.is(new Function(`return ${literal};`)(), text);
  }
});

test('comments cannot be closed or broken out of', () => {
  for (const text of hostileTexts) {
    const doc = docComment(text);
    assert.is(doc.indexOf('*/'), doc.length - 2, text);
    for (const line of lineComment(text).split('\n')) assert.match(line, /^\/\//);
    assert.not.match(lineComment(text), /[\r\u2028\u2029]/);
  }
});

test('identifiers: reserved words, leading digits, empty names and collisions after sanitising', () => {
  const identifier = identifierScope(['tf', 'layers']);
  assert.equal(['class', '34resnet', '', 'resnet-34', 'resnet_34', 'tf', 'layers', 'layer1.0.conv1', 'layer1_0.conv1'].map(identifier), [
    '_class',
    '_34resnet',
    '_',
    'resnet_34',
    'resnet_34_2',
    'tf_2',
    'layers_2',
    'layer1_0_conv1',
    'layer1_0_conv1_2',
  ]);
});

test.run();
