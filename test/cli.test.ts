// The `netspec` command as a user runs it: exit codes, help, JSON output, and files written or left alone.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeAtomically } from '../src/output.js';

const cli = resolve('dist', 'cli.js');

function netspec(args: string[], cwd = process.cwd()) {
  const run = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const tinySpec = (name: string, classes = 3) =>
  JSON.stringify(
    {
      name,
      input: { height: 8, width: 8, channels: 1 },
      stem: { type: 'conv', width: 4, kernelSize: 3, stride: 1 },
      block: { type: 'basic' },
      stages: { widths: [4, 8], depths: [1, 1], strides: [1, 2] },
      head: { type: 'classifier', classes },
    },
    null,
    2,
  );

function project(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'netspec-cli-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** Every file under a folder with its bytes and modification time, to prove nothing changed. */
function snapshot(root: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const file of (readdirSync(root, { recursive: true, encoding: 'utf8' }) as string[]).sort()) {
    const path = join(root, file);
    if (statSync(path).isFile()) files[file] = `${statSync(path).mtimeMs} ${readFileSync(path, 'utf8')}`;
  }
  return files;
}

const noStackTrace = (text: string) => assert.not.match(text, /\n\s+at /);

test('--help for the tool and each command', () => {
  const main = netspec(['--help']);
  assert.is(main.status, 0);
  assert.match(main.stdout, /netspec compile/);
  assert.match(main.stdout, /netspec check/);
  for (const command of ['compile', 'check']) {
    const help = netspec([command, '--help']);
    assert.is(help.status, 0);
    assert.match(help.stdout, new RegExp(`^Usage: netspec ${command}`));
  }
});

test('usage errors exit 2 with a one-line reason and no stack trace', () => {
  for (const args of [[], ['frobnicate'], ['compile', '--frobnicate'], ['check'], ['check', 'a.json', 'b.json'], ['compile', '--out']]) {
    const run = netspec(args);
    assert.is(run.status, 2, args.join(' '));
    noStackTrace(run.stderr);
  }
  assert.match(netspec(['frobnicate']).stderr, /unknown command "frobnicate"/);
});

test('check --json prints exactly one JSON object with the founding counts', () => {
  const run = netspec(['check', 'specs/resnet34.json', '--json']);
  assert.is(run.status, 0);
  const summary = JSON.parse(run.stdout);
  assert.equal(Object.keys(summary), ['name', 'input', 'output', 'outputs', 'params', 'macs', 'layers']);
  assert.equal(summary.outputs, { output: [10] });
  assert.is(summary.name, 'resnet34');
  assert.equal(summary.input, [32, 32, 3]);
  assert.equal(summary.output, [10]);
  assert.equal(summary.params, { trainable: 21_282_122, nonTrainable: 17_024, total: 21_299_146 });
  assert.equal(summary.layers[1], { name: 'conv1', op: 'conv2d', outputShape: [32, 32, 64], params: 1_728, macs: 1_769_472 });
  assert.equal(Object.keys(summary.layers[0]), ['name', 'op', 'outputShape', 'params', 'macs']);
});

test('check --json on the output-stride-8 backbone reports four feature outputs: 56, 28, 28, 28', () => {
  const run = netspec(['check', 'specs/imagenet/resnet50_dilated8.json', '--json']);
  assert.is(run.status, 0);
  const summary = JSON.parse(run.stdout);
  assert.equal(summary.outputs, { C2: [56, 56, 256], C3: [28, 28, 512], C4: [28, 28, 1024], C5: [28, 28, 2048] });
  assert.equal(summary.output, [28, 28, 2048]);
  // The warning goes to standard error, so standard output stays one JSON object.
  assert.match(run.stderr, /resnet50_dilated8\.json:12:30: warning NS501: stage 3 uses dilation 2;/);
});

test('torchvision-named specs report torchvision\'s trainable counts through check --json', () => {
  const expected = { resnet18: 11_689_512, resnet34: 21_797_672, resnet50: 25_557_032, resnet101: 44_549_160, resnet152: 60_192_808, resnext50_32x4d: 25_028_904, resnext101_32x8d: 88_791_336, wide_resnet50_2: 68_883_240 };
  for (const [name, trainable] of Object.entries(expected)) {
    const run = netspec(['check', `specs/imagenet/${name}.json`, '--json']);
    assert.is(JSON.parse(run.stdout).params.trainable, trainable, name);
  }
});

test('check prints a summary table with the totals', () => {
  const run = netspec(['check', 'specs/imagenet/resnet18.json']);
  assert.is(run.status, 0);
  assert.match(run.stdout, /^Model: resnet18 \(specs\/imagenet\/resnet18\.json\)/);
  assert.match(run.stdout, /maxpool \(maxPool\)\s+56×56×64\s+0\s+0\n/);
  assert.match(run.stdout, /Trainable params: 11,689,512\n/);
  assert.match(run.stdout, /Non-trainable params: 9,600 /);
});

test('check on a spec with errors exits 1 with positioned diagnostics', () => {
  const root = project({ 'bad.json': '{\n  "name": 5\n}' });
  const run = netspec(['check', 'bad.json'], root);
  assert.is(run.status, 1);
  assert.is(run.stdout, '');
  // All errors at once, in file order.
  assert.match(run.stderr, /^bad\.json:1:1: error NS102: the spec is missing the required field "input"\n/);
  assert.match(run.stderr, /\nbad\.json:2:11: error NS101: name must be a string, got 5\n/);
  assert.match(run.stderr, /\n6 errors in 1 spec\n$/);
  noStackTrace(run.stderr);
  assert.match(netspec(['check', 'missing.json'], root).stderr, /^missing\.json:1:1: error NS001: cannot read the spec: no such file/);
  rmSync(root, { recursive: true });
});

test('compile mirrors the specs folder, then --check passes until output goes stale or extra', () => {
  const root = project({ 'specs/a.json': tinySpec('a'), 'specs/sub/b.json': tinySpec('b') });
  const run = netspec(['compile'], root);
  assert.is(run.status, 0, run.stderr);
  assert.ok(existsSync(join(root, 'generated/a.ts')) && existsSync(join(root, 'generated/sub/b.ts')));
  assert.match(run.stdout, /specs\/sub\/b\.json → generated\/sub\/b\.ts/);
  assert.is(netspec(['compile', '--check'], root).status, 0);

  writeFileSync(join(root, 'generated/a.ts'), readFileSync(join(root, 'generated/a.ts'), 'utf8').replace('classes', 'klasses') + '\n');
  writeFileSync(join(root, 'generated/old.ts'), '// from a deleted spec\n');
  const before = snapshot(root);
  const check = netspec(['compile', '--check'], root);
  assert.is(check.status, 1);
  assert.match(check.stderr, /stale: generated\/a\.ts is missing or out of date\n/);
  assert.match(check.stderr, /stale: generated\/old\.ts has no spec\n/);
  assert.equal(snapshot(root), before, '--check writes nothing');
  rmSync(root, { recursive: true });
});

test('one bad spec in a batch writes nothing and overwrites nothing', () => {
  const root = project({ 'specs/a.json': tinySpec('a'), 'specs/b.json': tinySpec('b', 0), 'generated/a.ts': '// previous output\n' });
  const before = snapshot(root);
  const run = netspec(['compile'], root);
  assert.is(run.status, 1);
  assert.match(run.stderr, /^specs\/b\.json:33:16: error NS104: head\.classes must be >= 1, got 0\n/);
  assert.match(run.stderr, /nothing was written/);
  assert.equal(snapshot(root), before);
  rmSync(root, { recursive: true });
});

test('outputs that differ only in letter case are refused', () => {
  const root = project({ 'specs/Net.json': tinySpec('a'), 'specs/net.json': tinySpec('b') });
  const run = netspec(['compile'], root);
  assert.is(run.status, 1);
  assert.match(run.stderr, /specs\/net\.json:1:1: error NS401: this spec and specs\/Net\.json would both write generated\/net\.ts/);
  assert.not.ok(existsSync(join(root, 'generated')));
  rmSync(root, { recursive: true });
});

test('a spec outside the specs folder compiles to its base name inside the output folder', () => {
  const root = project({ 'elsewhere/deep/../../x.json': tinySpec('x') });
  const run = netspec(['compile', 'x.json', '--out', 'out'], root);
  assert.is(run.status, 0, run.stderr);
  assert.ok(existsSync(join(root, 'out/x.ts')));
  rmSync(root, { recursive: true });
});

test('an atomic write that fails leaves no temporary file and the old target intact', () => {
  const root = project({ 'target.ts/keep': 'a folder stands where the file would go' });
  assert.throws(() => writeAtomically(join(root, 'target.ts'), 'new'));
  assert.equal(readdirSync(root), ['target.ts']);
  rmSync(root, { recursive: true });
});

test.run();
