// The README's "Use netspec in your project", run as written: pack this package, make a scratch npm project, and
// follow the section's blocks in order — files written, commands run — with `npm install netspec` installing the
// packed tarball and `python3` being Debian's, with PyTorch. Then check what a user relies on: one copy of
// TensorFlow.js, no ONNX runtime unless asked for, a strict type-check, and a forward pass with the weights PyTorch
// saved equal to PyTorch's own and to the same model's in this repository.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildModel } from '../src/build/model.js';
import { compileSpec } from '../src/compile.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { loadWeights } from '../src/runtime/weights/files.js';
import { writeTorchFile } from '../src/weights/torch-save.js';
import { checkpointFor } from './support/checkpoint.js';
import { relativeError } from './support/error.js';
import { pythonHas } from './support/python.js';

const PYTHON = '/usr/bin/python3';
const torchAvailable = pythonHas(PYTHON, 'torch');

const SECTION = '## Use netspec in your project';

/** The section's tagged blocks in order: `<!-- user-project: commands -->` or `<!-- user-project: PATH -->` before a fence. */
function sectionBlocks(): { tag: string; body: string }[] {
  const readme = readFileSync('README.md', 'utf8');
  const start = readme.indexOf(`${SECTION}\n`);
  assert.ok(start >= 0, `README.md has the section "${SECTION}"`);
  const end = readme.indexOf('\n## ', start + SECTION.length);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/<!-- user-project: (\S+) -->\n```\w*\n([\s\S]*?)```/g)].map((m) => ({ tag: m[1]!, body: m[2]! }));
}

/** The environment of a user's shell: none of the npm variables of the `npm test` that runs this file. */
function userEnvironment(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  return { ...env, npm_config_prefer_offline: 'true', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
}

function run(command: string, cwd: string, env: NodeJS.ProcessEnv) {
  const result = spawnSync('bash', ['-euo', 'pipefail', '-c', command], { cwd, env, encoding: 'utf8', timeout: 300_000 });
  assert.is(result.status, 0, `${command}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

test('the README journey works in a fresh project from the packed package', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'netspec-journey-'));
  const env = userEnvironment();
  const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', scratch], { env, encoding: 'utf8' });
  assert.is(packed.status, 0, packed.stderr);
  const tarball = join(scratch, packed.stdout.trim().split('\n').at(-1)!);
  const project = join(scratch, 'app');
  mkdirSync(project);

  const blocks = sectionBlocks();
  assert.equal(
    blocks.map((b) => b.tag),
    ['commands', 'specs/my-net.json', 'tsconfig.json', 'src/main.ts', 'save-weights.py', 'commands', 'src/onnx.ts', 'commands'],
  );
  const spec = blocks.find((b) => b.tag === 'specs/my-net.json')!.body;
  const compiled = compileSpec('specs/my-net.json', new TextEncoder().encode(spec));
  if (!compiled.ok) throw new Error(compiled.diagnostics.map((d) => d.message).join('\n'));
  /** The Python step: Debian's python3 with PyTorch, or, without it, the checkpoint it would save written by netspec. */
  const python = (line: string) => {
    if (torchAvailable) return line.replace(/^python3 /, `${PYTHON} `);
    console.log(`\n  journey.test.ts: no PyTorch at ${PYTHON} (apt-get install -y python3-torch); "${line}" replaced by netspec writing my-net.pth\n`);
    writeFileSync(join(project, 'my-net.pth'), writeTorchFile('my-net.pth', checkpointFor(compiled.graph)));
    return 'true';
  };

  let output = '';
  const onnxInstall = 'ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node';
  for (const { tag, body } of blocks) {
    if (tag !== 'commands') {
      mkdirSync(dirname(join(project, tag)), { recursive: true });
      writeFileSync(join(project, tag), body);
      continue;
    }
    for (const line of body.split('\n').filter((l) => l.trim() !== '')) {
      const command = line.startsWith('python3 ') ? python(line) : line.replace(/^npm install netspec$/, `npm install ${tarball}`);
      // The optional ONNX runtime is there only once the user asks for it.
      if (line === onnxInstall) assert.not.ok(run('ls node_modules', project, env).split('\n').includes('onnxruntime-node'));
      output += run(command, project, env);
    }
  }

  // One TensorFlow.js, installed as netspec's peer; the optional ONNX runtime only when asked for.
  const copies = run('npm ls @tensorflow/tfjs --all --parseable', project, env).trim().split('\n');
  assert.equal(copies, [join(project, 'node_modules/@tensorflow/tfjs')]);
  assert.ok(
    blocks.some((block) => block.body.split('\n').includes(onnxInstall)),
    'the README installs onnxruntime-node as the journey runs it',
  );
  assert.match(readFileSync(join(project, 'src/models/my-net.ts'), 'utf8'), /^\/\/ Regenerate with `npx netspec compile --out src\/models`\.$/m);

  // The user's program printed the analysed count and the logits of two all-ones images; this repository's
  // model with the same weights folder gives the same logits.
  const printed = /^(\d+) trainable parameters; logits 2×10: (.*)$/m.exec(output);
  assert.ok(printed, output);
  assert.is(Number(printed![1]), compiled.graph.params.trainable);
  await initBackend({ backend: 'wasm', log: () => {} });
  const model = await loadWeights(() => buildModel(compiled.graph), join(project, 'weights/my-net'));
  const [h, w, c] = compiled.graph.inputShape as [number, number, number];
  const expected = model.predict(tf.ones([2, h, w, c])) as tf.Tensor2D;
  const printedLogits = tf.tensor2d(JSON.parse(printed![2]!) as number[][]);
  const error = relativeError(printedLogits, expected);
  assert.ok(error <= 1e-6, `relative max |Δ| ${error.toExponential(2)}`);
  // The ONNX export of the same weights on onnxruntime, installed from the npm registry alone.
  const onnxPrinted = /^onnxruntime logits 2×10: (.*)$/m.exec(output);
  assert.ok(onnxPrinted, output);
  const onnxError = relativeError(tf.tensor2d(JSON.parse(onnxPrinted![1]!) as number[][]), expected);
  assert.ok(onnxError <= 1e-4, `onnxruntime: relative max |Δ| ${onnxError.toExponential(2)}`);
  if (torchAvailable) {
    // PyTorch's own logits for the same images from the module and the file the user saved.
    const torchRun = spawnSync(PYTHON, ['-c', TORCH_LOGITS], { cwd: project, encoding: 'utf8' });
    assert.is(torchRun.status, 0, torchRun.stderr);
    const torchError = relativeError(printedLogits, tf.tensor2d(JSON.parse(torchRun.stdout) as number[][]));
    assert.ok(torchError <= 1e-4, `against PyTorch: relative max |Δ| ${torchError.toExponential(2)}`);
  }
  model.dispose();
  rmSync(scratch, { recursive: true });
});

/** The logits of two all-ones images from src/models/my-net.py with my-net.pth loaded, in eval mode. */
const TORCH_LOGITS = `
import importlib.util, json, torch
spec = importlib.util.spec_from_file_location("my_net", "src/models/my-net.py")
my_net = importlib.util.module_from_spec(spec)
spec.loader.exec_module(my_net)
model = my_net.create_model()
model.load_state_dict(torch.load("my-net.pth", weights_only=True))
model.eval()
with torch.no_grad():
    print(json.dumps(model(torch.ones(2, *my_net.INPUT_SHAPE)).tolist()))
`;

test.run();
