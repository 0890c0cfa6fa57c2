// What netspec does to the user's files: it replaces only what it wrote itself, refuses anything else at an output path
// naming it, reports every filesystem fault as one line with exit 1 (never an internal error, exit 70), bounds what it
// reads, and does not walk symbolic links in circles.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PNG } from 'pngjs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compileSpec } from '../src/compile.js';
import { writeSafetensors } from '../src/weights/safetensors.js';
import { checkpointFor } from './support/checkpoint.js';
import { snapshot } from './support/files.js';
import { TINY_FASHION_SPEC } from './support/tiny-fashion.js';

const cli = resolve('dist', 'cli.js');
const SPEC = JSON.stringify(TINY_FASHION_SPEC);

function netspec(args: string[], cwd: string, timeout = 60_000) {
  const run = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8', timeout });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr, signal: run.signal };
}

/** A scratch folder holding `files`; `tiny.json` and its checkpoint `tiny.safetensors` are always there. */
function project(files: Record<string, string> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'netspec-files-'));
  const graph = compileSpec('tiny.json', new TextEncoder().encode(SPEC));
  if (!graph.ok) throw new Error('the tiny spec compiles');
  writeFileSync(join(root, 'tiny.json'), SPEC);
  writeFileSync(join(root, 'tiny.safetensors'), writeSafetensors(checkpointFor(graph.graph)));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** A user error: exit 1, every line starting with `netspec:` or a diagnostic, and no stack trace or bug report. */
function assertUserError(run: ReturnType<typeof netspec>, expected: RegExp) {
  assert.is(run.status, 1, `exit status; stderr: ${run.stderr}`);
  assert.match(run.stderr, expected);
  assert.not.match(run.stderr, /internal error|please report|\n\s+at /);
}

test('weights import refuses to replace a source folder, a file, or a folder with files netspec did not write', () => {
  const root = project({ 'src/app.ts': 'export {};\n', 'notes.txt': 'mine\n' });
  const before = snapshot(root);
  assertUserError(
    netspec(['weights', 'import', 'tiny.json', 'tiny.safetensors', '--out', 'src'], root),
    /^netspec: cannot write src: it is a folder that netspec did not write/m,
  );
  assertUserError(
    netspec(['weights', 'import', 'tiny.json', 'tiny.safetensors', '--out', 'notes.txt'], root),
    /^netspec: cannot write notes\.txt: it is a file, not a weights folder/m,
  );
  assert.equal(snapshot(root), before, 'nothing changed');

  // A weights folder netspec wrote is replaced; once the user adds a file of their own to it, it is not.
  assert.is(netspec(['weights', 'import', 'tiny.json', 'tiny.safetensors', '--out', 'w'], root).status, 0);
  assert.is(netspec(['weights', 'import', 'tiny.json', 'tiny.safetensors', '--out', 'w'], root).status, 0, 'its own folder is replaced');
  writeFileSync(join(root, 'w', 'README'), 'my notes on these weights\n');
  assertUserError(
    netspec(['weights', 'import', 'tiny.json', 'tiny.safetensors', '--out', 'w'], root),
    /cannot write w: the weights folder also holds README, which netspec did not write/,
  );
  assert.is(readFileSync(join(root, 'w', 'README'), 'utf8'), 'my notes on these weights\n');
  rmSync(root, { recursive: true });
});

test('export onnx and weights export refuse folders, paths under a file and files netspec did not write', () => {
  const root = project({ 'model.onnx': 'my own model\n', 'mine.safetensors': 'my own weights\n', 'folder/keep': '' });
  assert.is(netspec(['weights', 'import', 'tiny.json', 'tiny.safetensors', '--out', 'w'], root).status, 0);
  const before = snapshot(root);
  const cases: [string[], RegExp][] = [
    [['export', 'onnx', 'tiny.json', '--out', 'folder'], /^netspec: cannot write folder: it is a folder$/m],
    [['export', 'onnx', 'tiny.json', '--out', 'tiny.json/x.onnx'], /^netspec: cannot write tiny\.json\/x\.onnx: tiny\.json is a file, not a folder$/m],
    [['export', 'onnx', 'tiny.json', '--out', 'model.onnx'], /^netspec: cannot write model\.onnx: it exists and was not written by netspec/m],
    [['weights', 'export', 'tiny.json', 'w', '--out', 'folder'], /^netspec: cannot write folder: it is a folder$/m],
    [['weights', 'export', 'tiny.json', 'w', '--out', 'tiny.json/x.safetensors'], /tiny\.json is a file, not a folder/],
    [
      ['weights', 'export', 'tiny.json', 'w', '--out', 'mine.safetensors'],
      /^netspec: cannot write mine\.safetensors: it exists and was not written by netspec/m,
    ],
  ];
  for (const [args, expected] of cases) assertUserError(netspec(args, root), expected);
  assert.equal(snapshot(root), before, 'nothing changed');

  // Files netspec wrote itself are replaced.
  for (const args of [
    ['export', 'onnx', 'tiny.json', '--out', 'x.onnx'],
    ['weights', 'export', 'tiny.json', 'w', '--out', 'x.safetensors'],
  ]) {
    assert.is(netspec(args, root).status, 0, args.join(' '));
    assert.is(netspec(args, root).status, 0, `again: ${args.join(' ')}`);
  }
  rmSync(root, { recursive: true });
});

test('compile refuses an output folder that is a file and modules it did not write; nothing of the batch is written', () => {
  const root = project({
    'specs/a.json': SPEC.replace('tiny_fashion', 'a'),
    'specs/b.json': SPEC.replace('tiny_fashion', 'b'),
    'out.txt': '',
    'src/b.ts': 'my code\n',
  });
  const before = snapshot(root);
  assertUserError(netspec(['compile', '--out', 'out.txt'], root), /^netspec: cannot write out\.txt\/a\.ts: out\.txt is a file, not a folder$/m);
  assertUserError(netspec(['compile', '--out', 'src'], root), /^netspec: cannot write src\/b\.ts: it exists and was not written by netspec/m);
  assert.equal(snapshot(root), before, 'a.ts was not written either');
  assert.is(netspec(['compile', '--specs', 'out.txt'], root).status, 2, '--specs naming a file is a usage error');
  rmSync(root, { recursive: true });
});

test('the header of a module compiled elsewhere names the command that regenerates it there', () => {
  const root = project({ 'specs/a.json': SPEC.replace('tiny_fashion', 'a'), 'other/c.json': SPEC.replace('tiny_fashion', 'c') });
  assert.is(netspec(['compile', '--out', 'src/models'], root).status, 0);
  assert.match(readFileSync(join(root, 'src/models/a.ts'), 'utf8'), /^\/\/ Regenerate with `npx netspec compile --out src\/models`\.$/m);
  assert.is(netspec(['compile', 'other/c.json', '--out', 'src/models'], root).status, 0);
  assert.match(readFileSync(join(root, 'src/models/c.ts'), 'utf8'), /^\/\/ Regenerate with `npx netspec compile other\/c\.json --out src\/models`\.$/m);
  // Following the headers rewrites the same files with the same bytes.
  const contents = () => Object.values(snapshot(join(root, 'src/models'))).map((entry) => entry.slice(entry.indexOf(' ') + 1));
  const made = contents();
  assert.is(netspec(['compile', '--out', 'src/models'], root).status, 0);
  assert.is(netspec(['compile', 'other/c.json', '--out', 'src/models'], root).status, 0);
  assert.ok(
    contents().every((text, i) => text === made[i]),
    'regenerated modules are identical',
  );
  rmSync(root, { recursive: true });
});

test('a read-only output folder is a user error naming it', () => {
  const root = project({ 'specs/a.json': SPEC });
  mkdirSync(join(root, 'ro'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', join(root, 'ro')]).status === 0;
  if (!mounted) {
    console.log('\n  user-files.test.ts skipped the read-only case: this machine cannot mount a read-only tmpfs\n');
    rmSync(root, { recursive: true });
    return;
  }
  try {
    assertUserError(
      netspec(['compile', '--out', 'ro/models'], root),
      /^netspec: cannot write ro\/models\/a\.ts: the folder ro is not writable \(the file system is read-only\)$/m,
    );
    assertUserError(
      netspec(['weights', 'import', 'tiny.json', 'tiny.safetensors', '--out', 'ro/w'], root),
      /the folder ro is not writable \(the file system is read-only\)/,
    );
  } finally {
    spawnSync('umount', [join(root, 'ro')]);
    rmSync(root, { recursive: true });
  }
});

test('a full disk is one line naming the file, and nothing half-written is left', () => {
  const root = project({ 'specs/a.json': SPEC });
  mkdirSync(join(root, 'small'));
  // One 4 KiB page: room for the folder, not for both modules.
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', join(root, 'small')]).status !== 0) {
    console.log('\n  user-files.test.ts skipped the full-disk case: this machine cannot mount a tmpfs\n');
    rmSync(root, { recursive: true });
    return;
  }
  try {
    assertUserError(netspec(['compile', '--out', 'small'], root), /^netspec: cannot write small\/a(\.onnx)?\.ts: no space left on the device$/m);
    assert.not.ok(
      Object.keys(snapshot(join(root, 'small'))).some((file) => file.endsWith('.tmp')),
      'no temporary file is left',
    );
  } finally {
    spawnSync('umount', [join(root, 'small')]);
    rmSync(root, { recursive: true });
  }
});

test('a loop of symbolic links as a spec is a positioned error', () => {
  const root = project();
  symlinkSync('b.json', join(root, 'a.json'));
  symlinkSync('a.json', join(root, 'b.json'));
  assertUserError(netspec(['check', 'a.json'], root), /^a\.json:1:1: error NS001: cannot read the spec: too many levels of symbolic links$/m);
  rmSync(root, { recursive: true });
});

test('spec reads stop at the size limit on devices, FIFOs and endless files', () => {
  const root = project();
  spawnSync('mkfifo', [join(root, 'pipe.json')]);
  for (const path of ['/dev/zero', '/dev/urandom', 'pipe.json']) {
    const run = netspec(['check', path], root, 10_000);
    assert.is(run.signal, null, `${path} did not hang`);
    assertUserError(run, /error NS001: cannot read the spec: it is not a regular file \(a device, pipe or socket\)/);
  }
  rmSync(root, { recursive: true });
});

test('compile --check reads no pipe where a generated module should be: it is out of date, not waited on', () => {
  const root = project({ 'specs/a.json': SPEC.replace('tiny_fashion', 'a') });
  assert.is(netspec(['compile'], root).status, 0);
  rmSync(join(root, 'generated/a.ts'));
  spawnSync('mkfifo', [join(root, 'generated/a.ts')]);
  const run = netspec(['compile', '--check'], root, 20_000);
  assert.is(run.signal, null, 'did not hang');
  assert.is(run.status, 1, run.stderr);
  assert.match(run.stderr, /generated\/a\.ts/);
  rmSync(root, { recursive: true });
});

test('predict and weights import read no device or pipe, and predict still classifies the images around them', () => {
  const root = project();
  assert.is(netspec(['weights', 'import', 'tiny.json', 'tiny.safetensors', '--out', 'w'], root).status, 0);
  const png = new PNG({ width: 28, height: 28 });
  writeFileSync(join(root, 'grey.png'), PNG.sync.write(png));
  spawnSync('mkfifo', [join(root, 'pipe.png')]);
  const run = netspec(['predict', 'tiny.json', '--weights', 'w', '/dev/zero', 'grey.png', 'pipe.png'], root, 60_000);
  assert.is(run.signal, null, 'did not hang');
  assertUserError(run, /^netspec: cannot read the image \/dev\/zero: it is not a regular file \(a device, pipe or socket\)$/m);
  assert.match(run.stderr, /^netspec: cannot read the image pipe\.png: it is not a regular file \(a device, pipe or socket\)$/m);
  assert.match(run.stdout, /^grey\.png\n {2}1\. /m);
  const checkpoint = netspec(['weights', 'import', 'tiny.json', '/dev/zero', '--out', 'w2'], root, 20_000);
  assert.is(checkpoint.signal, null, 'weights import did not hang');
  assertUserError(checkpoint, /^netspec: cannot read \/dev\/zero: it is not a regular file \(a device, pipe or socket\)$/m);
  rmSync(root, { recursive: true });
});

test('compile walks symbolic links to folders once and reports a link to nothing as a spec that cannot be read', () => {
  const root = project({ 'specs/sub/a.json': SPEC.replace('tiny_fashion', 'a') });
  symlinkSync('..', join(root, 'specs/sub/up'));
  symlinkSync(join(root, 'specs/sub'), join(root, 'specs/again'));
  const run = netspec(['compile'], root);
  assert.is(run.status, 0, run.stderr);
  // The real folder sorts first (again/ < sub/ would walk the link first): one module, under the first path walked.
  assert.equal(Object.keys(snapshot(join(root, 'generated'))).filter((f) => f.endsWith('.ts')).length, 2, 'a.ts and a.onnx.ts once');
  symlinkSync('nothing-here.json', join(root, 'specs/broken.json'));
  assertUserError(netspec(['compile'], root), /^specs\/broken\.json:1:1: error NS001: cannot read the spec: it is a symbolic link to nothing$/m);
  rmSync(root, { recursive: true });
});

test('train checks --out before it loads data or takes a step', () => {
  const root = project({ 'file.txt': '', 'run/metrics.json': '{"mine": true}\n' });
  const fashion = join(root, 'fashion');
  mkdirSync(fashion); // an empty dataset folder: train fails on it only if it gets that far
  const env = { ...process.env, NETSPEC_FASHION_MNIST: fashion };
  const train = (out: string) =>
    spawnSync(process.execPath, [cli, 'train', 'tiny.json', '--data', 'fashion-mnist', '--out', out], { cwd: root, encoding: 'utf8', env, timeout: 60_000 });
  const under = train('file.txt/run');
  assertUserError(
    { status: under.status, stdout: under.stdout, stderr: under.stderr, signal: under.signal },
    /^netspec: cannot write file\.txt\/run\/checkpoint\.safetensors: file\.txt is a file, not a folder$/m,
  );
  const foreign = train('run');
  assertUserError(
    { status: foreign.status, stdout: foreign.stdout, stderr: foreign.stderr, signal: foreign.signal },
    /^netspec: cannot write run\/metrics\.json: it exists and was not written by netspec/m,
  );
  assert.is(readFileSync(join(root, 'run/metrics.json'), 'utf8'), '{"mine": true}\n');
  rmSync(root, { recursive: true });
});

test('names on Object.prototype are unknown commands, not internal errors', () => {
  const root = project();
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    const run = netspec([name], root);
    assert.is(run.status, 2, `${name}: ${run.stderr}`);
    assert.match(
      run.stderr,
      new RegExp(`^netspec: unknown command "${name}"; commands are compile, check, weights, predict, export, train, eval, verify$`, 'm'),
    );
  }
  rmSync(root, { recursive: true });
});

test('a missing folder on the way to an input is one line, not an internal error', () => {
  const root = project();
  assertUserError(
    netspec(['weights', 'export', 'tiny.json', 'no/such/folder', '--out', 'x.safetensors'], root),
    /^netspec: cannot read no\/such\/folder\/model\.json: no such file or folder$/m,
  );
  assert.not.ok(existsSync(join(root, 'x.safetensors')));
  rmSync(root, { recursive: true });
});

test.run();
