// Fine-tuning as a user runs it (dist/cli.js, so `npm run build` first): torchvision's resnet18, created at test time
// by python3 with torchvision (random weights from a fixed seed, nothing downloaded) and imported, trains on a
// drawn image folder with a fresh 3-class head and frozen stages that come out bit for bit as they went in.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readWeightsFolder } from '../src/runtime/weights/files.js';
import { writeSafetensors, type FloatTensor } from '../src/weights/safetensors.js';
import { writeShapeFolder } from './support/shape-folder.js';

const cli = resolve('dist', 'cli.js');
const netspec = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env: { ...process.env, NETSPEC_BACKEND: 'wasm' } });
const spec = (classes: number) =>
  JSON.parse(
    readFileSync('specs/imagenet/resnet18.json', 'utf8')
      .replace('"height": 224, "width": 224', '"height": 32, "width": 32')
      .replace('"classes": 1000', `"classes": ${classes}`),
  ) as object;

let root: string;
test.before(() => {
  root = mkdtempSync(join(tmpdir(), 'netspec-fine-tune-'));
});
test.after(() => rmSync(root, { recursive: true, force: true }));

/** torchvision's resnet18 state dict (seeded random weights, BatchNorm statistics made non-trivial) as safetensors. */
function torchvisionResnet18(path: string): void {
  const script = `
import json, sys, torch, torchvision
torch.manual_seed(0)
model = torchvision.models.resnet18(weights=None)
for m in model.modules():
    if isinstance(m, torch.nn.BatchNorm2d):
        m.running_mean.uniform_(-0.1, 0.1); m.running_var.uniform_(0.5, 1.5); m.weight.data.uniform_(0.5, 1.5); m.bias.data.uniform_(-0.1, 0.1)
state = {k: v for k, v in model.state_dict().items() if not k.endswith('num_batches_tracked')}
sys.stdout.write(json.dumps([[k, list(v.shape)] for k, v in state.items()]) + '\\n')
sys.stdout.flush()
sys.stdout.buffer.write(b''.join(v.contiguous().numpy().astype('<f4').tobytes() for v in state.values()))`;
  const run = spawnSync('/usr/bin/python3', ['-c', script], { maxBuffer: 256 * 2 ** 20 });
  assert.is(run.status, 0, run.stderr.toString());
  const newline = run.stdout.indexOf(10);
  const names = JSON.parse(run.stdout.subarray(0, newline).toString()) as [string, number[]][];
  const bytes = run.stdout.subarray(newline + 1);
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const tensors = new Map<string, FloatTensor>();
  let offset = 0;
  for (const [name, shape] of names) {
    const count = shape.reduce((a, b) => a * b, 1);
    tensors.set(name, { shape, data: data.subarray(offset, offset + count) });
    offset += count;
  }
  writeFileSync(path, writeSafetensors(tensors));
}

test('--init from imported torchvision resnet18 with a fresh head; --freeze stem,layer1,layer2 keeps them bit for bit', async () => {
  writeFileSync(join(root, 'resnet18_1000.json'), JSON.stringify(spec(1000)));
  writeFileSync(join(root, 'resnet18_3.json'), JSON.stringify(spec(3)));
  torchvisionResnet18(join(root, 'resnet18.safetensors'));
  const imported = netspec(['weights', 'import', join(root, 'resnet18_1000.json'), join(root, 'resnet18.safetensors'), '--out', join(root, 'imported')]);
  assert.is(imported.status, 0, imported.stderr);
  const images = join(root, 'shapes');
  writeShapeFolder(images, 8, 5);
  const out = join(root, 'run');
  const args = [
    'train',
    join(root, 'resnet18_3.json'),
    '--data',
    images,
    '--init',
    join(root, 'imported'),
    '--freeze',
    'stem,layer1,layer2',
    '--epochs',
    '1',
    '--batch',
    '8',
    '--lr',
    '0.01',
    '--workers',
    '2',
    '--out',
    out,
  ];
  const run = netspec(args);
  assert.is(run.status, 0, run.stderr);
  assert.match(run.stderr, /netspec: starting from the weights in \S+imported; the head fc has other shapes there \(another class count\) and starts fresh\n/);

  const before = (await readWeightsFolder(join(root, 'imported'))).weights;
  const after = (await readWeightsFolder(join(out, 'weights'))).weights;
  const frozen = (name: string) => /^(conv1|bn1|layer1\.|layer2\.)/.test(name);
  let compared = 0;
  for (const [name, weight] of after) {
    const original = before.get(name)!;
    const identical = Buffer.from(weight.data.buffer, weight.data.byteOffset, weight.data.byteLength).equals(
      Buffer.from(original.data.buffer, original.data.byteOffset, original.data.byteLength),
    );
    if (name.startsWith('fc/')) continue;
    if (frozen(name)) {
      assert.ok(identical, `${name} is frozen and must be bit-identical`);
      compared++;
    } else if (!name.includes('moving')) {
      // Every trained convolution and BatchNorm scale moved (the running statistics of unfrozen BatchNorm do too).
      assert.not.ok(identical, `${name} should have been trained`);
    }
  }
  // conv1, bn1 (4 tensors) and 4 blocks of 2 convolutions and 2 BatchNorms, plus layer2.0's downsample (conv and BatchNorm).
  assert.is(compared, 1 + 4 + 4 * (2 + 2 * 4) + (1 + 4));
  assert.equal(after.get('fc/kernel')!.shape, [512, 3]);

  const unknown = netspec(['train', join(root, 'resnet18_3.json'), '--data', images, '--freeze', 'layer9', '--out', join(root, 'never')]);
  assert.is(unknown.status, 1);
  assert.match(
    unknown.stderr,
    /netspec: --freeze layer9 matches no layer with weights of resnet18; the names are stem, conv1, bn1, layer1, layer2, layer3, layer4, fc\n$/,
  );
});

test.run();
