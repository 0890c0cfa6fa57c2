// The `netspec` command as a user runs it: exit codes, help, JSON output, and files written or left alone.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeAtomically } from '../src/files/atomic-write.js';
import { DEFAULT_OUT_DIR, DEFAULT_SPEC_ROOT, outputPathFor } from '../src/project/paths.js';
import { DEFAULT_MAX_PIXELS } from '../src/runtime/images/header.js';
import { DEFAULT_CONFIG } from '../src/train/config.js';
import { snapshot } from './support/files.js';

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

const noStackTrace = (text: string) => assert.not.match(text, /\n\s+at /);

/** `netspec --help`, or a command's, run once each: several tests read the same text. */
const helps = new Map<string, ReturnType<typeof netspec>>();
function help(command?: string) {
  const key = command ?? '';
  if (!helps.has(key)) helps.set(key, netspec(command === undefined ? ['--help'] : [command, '--help']));
  return helps.get(key)!;
}

test('--help for the tool and each command', () => {
  const main = help();
  assert.is(main.status, 0);
  assert.match(main.stdout, /netspec compile/);
  assert.match(main.stdout, /netspec check/);
  for (const command of ['compile', 'check']) {
    const own = help(command);
    assert.is(own.status, 0);
    assert.match(own.stdout, new RegExp(`^Usage: netspec ${command}`));
  }
});

test("the tool's help gives each command's usage lines as its own help does, and the defaults the code uses", () => {
  const main = help().stdout;
  const commandHelps = new Map(['compile', 'check', 'weights', 'predict', 'export', 'train'].map((command) => [command, help(command).stdout]));
  for (const [command, own] of commandHelps) {
    const usage = /^Usage:(?: (.+)|\n((?: {2}.+\n)+))/.exec(own)!;
    const lines =
      usage[1] !== undefined
        ? [usage[1]]
        : usage[2]!
            .trimEnd()
            .split('\n')
            .map((line) => line.trim());
    for (const line of lines) assert.ok(main.includes(`\n  ${line}\n`), `${command}: ${line}`);
  }
  // An option's help, its continuation lines joined.
  const option = (command: string, name: string) =>
    commandHelps
      .get(command)!
      .match(new RegExp(`\n {2}--${name} [^]*?(?=\n {2}-)`))?.[0]
      .replace(/\s+/g, ' ');
  assert.match(option('compile', 'out')!, `(default: ${DEFAULT_OUT_DIR})`);
  assert.match(option('compile', 'specs')!, `(default: ${DEFAULT_SPEC_ROOT})`);
  assert.match(option('predict', 'max-pixels')!, `(default: ${DEFAULT_MAX_PIXELS},`);
  assert.match(option('train', 'epochs')!, `(default: ${DEFAULT_CONFIG.epochs})`);
  assert.match(option('train', 'batch')!, `(default: ${DEFAULT_CONFIG.batchSize})`);
  assert.match(option('train', 'lr')!, `(default: ${DEFAULT_CONFIG.learningRate})`);
  assert.match(option('train', 'weight-decay')!, `(default: ${DEFAULT_CONFIG.optimizer.weightDecay})`);
  assert.match(option('train', 'schedule')!, `default: ${DEFAULT_CONFIG.schedule})`);
});

test("the README's command reference quotes the tool's usage lines", () => {
  const usage = /\nUsage:\n((?: {2}.+\n)+)/.exec(help().stdout)![1]!.replace(/^ {2}/gm, '');
  const readme = readFileSync('README.md', 'utf8');
  assert.ok(readme.includes(`## Command reference\n\n\`\`\`\n${usage}\`\`\`\n`), usage);
});

test('usage errors exit 2 with a one-line reason and no stack trace', () => {
  for (const args of [[], ['frobnicate'], ['compile', '--frobnicate'], ['check'], ['check', 'a.json', 'b.json'], ['compile', '--out']]) {
    const run = netspec(args);
    assert.is(run.status, 2, args.join(' '));
    noStackTrace(run.stderr);
  }
  assert.match(netspec(['frobnicate']).stderr, /unknown command "frobnicate"; commands are/);
  // One letter swapped is two edits from "train"; a suggestion is made within a third of the word (at least 2).
  assert.match(netspec(['trian']).stderr, /^netspec: unknown command "trian" \(did you mean "train"\?\); commands are compile, check/);
  // Choices are checked from the option table, before the command runs.
  assert.match(netspec(['compile', '--target', 'tflite']).stderr, /^netspec: --target takes tfjs, pytorch, onnx, got "tflite"\n/);
});

test('numbers on the command line are plain decimals: hexadecimal, octal, binary, Infinity and padding are refused', () => {
  // Number() reads all of these; a user who typed 0x10 meant something, and it was not 16 epochs without a word.
  for (const text of ['0x10', '0o17', '0b11', 'Infinity', ' 5', '5 ', '1_0', '1e', '.']) {
    const run = netspec(['train', 'tiny.json', '--data', 'fashion-mnist', `--epochs=${text}`]);
    assert.is(run.status, 2, `${text}: ${run.stderr}`);
    assert.is(
      run.stderr,
      `netspec: --epochs takes an integer from 1 to 10000 written in decimal digits, got ${JSON.stringify(text)}\nRun 'netspec --help' for usage.\n`,
    );
  }
  // Decimals with a fraction or an exponent stay numbers: --lr 1e-3 is how learning rates are written.
  const lr = netspec(['train', 'tiny.json', '--data', 'fashion-mnist', '--lr', '1e-3', '--epochs', '+0x1']);
  assert.match(lr.stderr, /^netspec: --epochs takes an integer from 1 to 10000 written in decimal digits, got "\+0x1"\n/);
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

test('commands that only run or convert a model leave the training warning NS501 unsaid', () => {
  const run = netspec(['weights', 'import', 'specs/imagenet/resnet50_dilated8.json', 'no-such-checkpoint.safetensors', '--out', 'no-such-folder']);
  assert.is(run.status, 1);
  assert.match(run.stderr, /no-such-checkpoint\.safetensors/);
  assert.not.match(run.stderr, /NS501/);
});

test("torchvision-named specs report torchvision's trainable counts through check --json", () => {
  const expected = {
    resnet18: 11_689_512,
    resnet34: 21_797_672,
    resnet50: 25_557_032,
    resnet101: 44_549_160,
    resnet152: 60_192_808,
    resnext50_32x4d: 25_028_904,
    resnext101_32x8d: 88_791_336,
    wide_resnet50_2: 68_883_240,
  };
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
  assert.throws(() => writeAtomically(join(root, 'target.ts'), 'new', 'generated-text'), /target\.ts: it is a folder/);
  assert.equal(readdirSync(root), ['target.ts']);
  rmSync(root, { recursive: true });
});

test('a compiler killed mid-write leaves every output complete, old or new, and only its own temporary files', async () => {
  // 24 specs whose modules are about 100 KB, so that writing them takes long enough to be interrupted. The old and the
  // new output are whatever `netspec compile` writes for the old and the new specs. Each attempt starts from the old
  // output and is killed (SIGKILL, which cannot be caught) after the k-th change in the output folder.
  const base = JSON.parse(readFileSync('specs/imagenet/resnet152.json', 'utf8')) as Record<string, unknown>;
  const names = Array.from({ length: 24 }, (_, i) => `m${String(i).padStart(2, '0')}`);
  const writeSpecs = (root: string, classes: number) =>
    names.forEach((name, i) =>
      writeFileSync(join(root, 'specs', `${name}.json`), JSON.stringify({ ...base, name, head: { type: 'classifier', classes: classes + i } })),
    );
  const root = project({});
  const out = join(root, 'generated');
  const contents = () => new Map(readdirSync(out).map((file) => [file, readFileSync(join(out, file), 'utf8')]));
  mkdirSync(join(root, 'specs'));
  writeSpecs(root, 100);
  assert.is(netspec(['compile'], root).status, 0);
  const before = contents();
  writeSpecs(root, 200);
  assert.is(netspec(['compile'], root).status, 0);
  const after = contents();
  assert.equal([...after.keys()], [...before.keys()]);
  const changed = [...after.keys()].filter((file) => after.get(file) !== before.get(file));
  assert.ok(changed.length >= names.length, `${changed.length} files change`);
  let interrupted = 0;
  for (const k of [1, 10, 30, 60, 90]) {
    for (const file of readdirSync(out)) rmSync(join(out, file));
    for (const [file, text] of before) writeFileSync(join(out, file), text);
    const child = spawn(process.execPath, [cli, 'compile'], { cwd: root, stdio: 'ignore' });
    let changes = 0;
    const watcher = watch(out, () => {
      if (++changes === k) child.kill('SIGKILL');
    });
    const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
    watcher.close();
    for (const file of readdirSync(out)) {
      // A process killed between writing its temporary file and renaming it cannot remove it. Such a file is named for
      // that process, never replaces an output, is ignored by --check (it is not a .ts file) and by git (*.tmp).
      const temporary = /^\.(.+)\.(\d+)\.tmp$/.exec(file);
      if (temporary) {
        assert.is(Number(temporary[2]), child.pid, `${file} belongs to the killed compiler`);
        assert.ok(before.has(temporary[1]!), file);
        continue;
      }
      const text = readFileSync(join(out, file), 'utf8');
      assert.ok(text === before.get(file) || text === after.get(file), `k = ${k}: ${file} is the complete old or new output`);
    }
    assert.equal(
      readdirSync(out)
        .filter((file) => !file.endsWith('.tmp'))
        .sort(),
      [...before.keys()].sort(),
    );
    const fresh = changed.filter((file) => readFileSync(join(out, file), 'utf8') === after.get(file)).length;
    if (signal === 'SIGKILL' && fresh > 0 && fresh < changed.length) interrupted++;
  }
  // The kills must land inside the batch of writes, or this test would prove nothing.
  assert.ok(interrupted >= 2, `${interrupted} attempts were killed between the first and the last write`);
  // Leftover temporary files do not stop the next compile, which writes every new output, or --check.
  assert.is(netspec(['compile'], root).status, 0);
  for (const [file, text] of after) assert.is(readFileSync(join(out, file), 'utf8'), text, file);
  assert.is(netspec(['compile', '--check'], root).status, 0);
  rmSync(root, { recursive: true });
});

test('output paths stay inside the output folder: specs named with "..", reached through "..", absolute, or Windows device names', () => {
  const root = project({
    'specs/..hidden/x.json': tinySpec('hidden'),
    'specs/..json': tinySpec('dots'),
    'specs/x.json': tinySpec('x'),
    // The output file mirrors the spec file's own name, and never the spec's `name` field. A device name such as CON
    // (with any extension) cannot be a file on Windows, so a spec named CON.json exists only where CON.ts is an
    // ordinary file too: it is compiled as any other spec, not refused.
    'specs/CON.json': tinySpec('con'),
    'specs/sub/nul.json': tinySpec('CON'),
    'elsewhere/y.json': tinySpec('y'),
    'elsewhere/deep/z.json': tinySpec('z'),
  });
  const outside = () => Object.entries(snapshot(root)).filter(([file]) => !file.startsWith('out'));
  const untouched = outside();
  const run = netspec(['compile', '--out', 'out'], root);
  assert.is(run.status, 0, run.stderr);
  const written = (readdirSync(join(root, 'out'), { recursive: true, encoding: 'utf8' }) as string[]).filter((f) => f.endsWith('.ts')).sort();
  // Each module and its onnxruntime wrapper (x.onnx.ts). `..hidden` is a folder inside specs/, mirrored as such (it used
  // to be flattened to x.ts, colliding with specs/x.json).
  const withWrappers = (modules: string[]) =>
    modules
      .flatMap((m) => [m, m.replace(/\.ts$/, '.onnx.ts')])
      .map((f) => f.split('/').join(sep))
      .sort();
  assert.equal(written, withWrappers(['..hidden/x.ts', '..ts', 'CON.ts', 'sub/nul.ts', 'x.ts']));
  // Specs outside the specs folder, reached through ".." or by an absolute path, keep only their base name.
  const elsewhere = netspec(['compile', 'specs/../elsewhere/y.json', join(root, 'elsewhere', 'deep', 'z.json'), '--out', 'out2'], root);
  assert.is(elsewhere.status, 0, elsewhere.stderr);
  assert.equal(readdirSync(join(root, 'out2')).sort(), withWrappers(['y.ts', 'z.ts']));
  assert.equal(outside(), untouched, 'nothing written outside the output folders');
  rmSync(root, { recursive: true });
});

test("a spec whose files would overwrite another spec's is refused, naming the one file both would write", () => {
  // specs/x.json writes x.ts and its wrapper x.onnx.ts; specs/x.onnx.json writes x.onnx.ts. The paths are equal, so the
  // message does not blame letter case (it used to).
  const root = project({ 'specs/x.json': tinySpec('x'), 'specs/x.onnx.json': tinySpec('y') });
  const run = netspec(['compile'], root);
  assert.is(run.status, 1);
  assert.match(run.stderr, /^specs\/x\.onnx\.json:1:1: error NS401: this spec and specs\/x\.json would both write generated\/x\.onnx\.ts; rename one\n/);
  assert.not.ok(existsSync(join(root, 'generated')));
  rmSync(root, { recursive: true });
});

test('an output folder at the file-system root is a folder like any other (regression: the containment check threw)', () => {
  assert.is(outputPathFor('specs/a/b.json', 'specs', '/'), resolve('/', 'a', 'b.ts'));
  assert.is(outputPathFor('/elsewhere/x.json', 'specs', '/'), resolve('/', 'x.ts'));
});

test.run();
