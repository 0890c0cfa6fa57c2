// Text that reaches generated code: every hostile name, description and path either compiles to code that
// type-checks under `tsc --strict` and carries the text unchanged, or is rejected by validation.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { docComment, identifierScope, lineComment, stringLiteral } from '../src/emit/escape.js';
import { initBackend } from '../src/runtime/backend.js';
import { typeCheck } from './support/typecheck.js';

const hostileTexts = [
  'ends a comment */ and opens one /*',
  '// a line comment',
  'double " single \' back ` quotes',
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

const names = ['class', 'default', 'delete', 'tf', '34resnet', 'resnet-34', 'resnet_34', 'constructor', 'layers', 'createModel', 'x'.repeat(64)];

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
  }
});

test.after(() => rmSync(folder, { recursive: true, force: true }));

test('every hostile module type-checks under tsc --strict', () => {
  assert.is(typeCheck(cases.map((c) => join(folder, c.file))), '');
});

test('each module carries its text unchanged, injects nothing, and builds a working model', async () => {
  for (const c of cases) {
    const generated = await import(`./${folder.slice('test/'.length)}/${c.file}`);
    assert.equal(Object.keys(generated).sort(), ['createModel', 'description', 'inferencePlan', 'inputShape', 'layers', 'macs', 'name', 'outputShape', 'params', 'predict'], c.file);
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
  assert.equal(
    ['class', '34resnet', '', 'resnet-34', 'resnet_34', 'tf', 'layers', 'layer1.0.conv1', 'layer1_0.conv1'].map(identifier),
    ['_class', '_34resnet', '_', 'resnet_34', 'resnet_34_2', 'tf_2', 'layers_2', 'layer1_0_conv1', 'layer1_0_conv1_2'],
  );
});

test.run();
