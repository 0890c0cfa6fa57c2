#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { fsFaultLine } from './fs-errors.js';
import { displayPath } from './display-path.js';
import { DEFAULT_OUT_DIR, DEFAULT_SPEC_ROOT } from './output.js';
import { OutputError } from './output-guard.js';

/** Exit codes: spec errors, stale output and filesystem faults are the user's to fix (1); a malformed command line is 2. */
const EXIT = { ok: 0, specError: 1, usage: 2, internal: 70 } as const;

class UsageError extends Error {}

const mainHelp = `netspec — compile declarative model specs into typed TensorFlow.js model code

Usage:
  netspec compile [spec.json...] [--out DIR] [--specs DIR] [--check] [--target onnx]
  netspec check <spec.json> [--json]
  netspec weights import <spec.json> <file.safetensors> --out DIR [--partial] [--rename FROM=TO...]
  netspec weights export <spec.json> <DIR> --out <file.safetensors>
  netspec predict <spec.json> --weights DIR [--max-pixels N] <image>...
  netspec export onnx <spec.json> [--weights DIR] --out <file.onnx>
  netspec train <spec.json> --data fashion-mnist [--epochs N] [--batch B] [--lr X] [--out DIR] [--resume]
  netspec <command> --help
  netspec --version

Commands:
  compile   Validate specs and generate one TypeScript module per spec
  check     Validate one spec and print its layer-by-layer summary
  weights   Convert PyTorch weights (safetensors) to and from a generated model's weights folder
  predict   Classify JPEG or PNG images with a spec's model and imported weights, printing the top 5
  export    Write a spec's model as ONNX, for onnxruntime and other runtimes
  train     Train a spec's classifier on Fashion-MNIST, with checkpoints, resume and training curves

Exit status: 0 success, 1 spec errors, stale output, refused outputs or file-system faults, 2 usage errors,
70 internal errors (please report them).`;

interface Command {
  readonly help: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  readonly run: (args: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] }) => Promise<number>;
}

/** `--rename FROM=TO` values as pairs; a malformed one is a usage error. */
function parseRenames(values: unknown): [string, string][] {
  return ((values as string[] | undefined) ?? []).map((value) => {
    const match = /^([^=]+)=([^=]*)$/.exec(value);
    if (!match) throw new UsageError(`--rename takes FROM=TO, got ${JSON.stringify(value)}`);
    return [match[1]!, match[2]!];
  });
}

/** A numeric option: the default when absent, else a finite number within bounds (an integer if asked). */
function numberOption(values: Record<string, unknown>, name: string, fallback: number, bounds: { min: number; max?: number; integer?: boolean; exclusiveMin?: boolean }): number {
  const text = values[name];
  if (text === undefined) return fallback;
  const value = Number(text);
  const low = bounds.exclusiveMin ? value <= bounds.min : value < bounds.min;
  if (typeof text !== 'string' || text.trim() === '' || !Number.isFinite(value) || low || (bounds.max !== undefined && value > bounds.max) || (bounds.integer && !Number.isInteger(value))) {
    const kind = bounds.integer ? 'an integer' : 'a number';
    const range = `${bounds.exclusiveMin ? 'above' : 'from'} ${bounds.min}${bounds.max !== undefined ? ` to ${bounds.max}` : ''}`;
    throw new UsageError(`--${name} takes ${kind} ${range}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** Options that set up a run; a resumed run keeps its saved settings, so they cannot be combined with --resume. */
const trainSettings = ['epochs', 'batch', 'lr', 'optimizer', 'momentum', 'nesterov', 'weight-decay', 'schedule', 'augment', 'seed', 'limit', 'workers'] as const;

const commands: Record<'compile' | 'check' | 'weights' | 'predict' | 'export' | 'train', Command> = {
  compile: {
    help: `Usage: netspec compile [spec.json...] [--out DIR] [--specs DIR] [--check] [--target onnx]

Validates every spec, renders all modules in memory, and only then writes them, each atomically. If any
spec has errors, nothing is written. A spec under the specs folder is mirrored under the output folder:
specs/imagenet/resnet34.json → generated/imagenet/resnet34.ts.

Arguments:
  spec.json...   Spec files to compile (default: every .json file under the specs folder)

Options:
  --out DIR      Output folder (default: generated)
  --specs DIR    Specs folder (default: specs)
  --check        Write nothing; exit 1 naming each output that is missing, stale or extra
  --target onnx  Also write each model as ONNX (<spec>.onnx beside its modules) with freshly initialised
                 weights from a fixed seed; 'netspec export onnx --weights DIR' exports trained weights
  -h, --help     Show this help

Every spec gets two modules: <spec>.ts builds the TensorFlow.js model, <spec>.onnx.ts runs its ONNX export
with onnxruntime-node.`,
    options: {
      out: { type: 'string', default: DEFAULT_OUT_DIR },
      specs: { type: 'string', default: DEFAULT_SPEC_ROOT },
      check: { type: 'boolean', default: false },
      target: { type: 'string', default: 'tfjs' },
    },
    run: async ({ values, positionals }) => {
      if (values.target !== 'tfjs' && values.target !== 'onnx') throw new UsageError(`--target takes tfjs or onnx, got ${JSON.stringify(values.target)}`);
      if (values.target === 'onnx' && values.check) throw new UsageError('--check compares the generated modules; it does not take --target onnx');
      const { compileCommand } = await import('./commands.js');
      return compileCommand({
        specs: positionals,
        specRoot: String(values.specs),
        outDir: String(values.out),
        check: values.check === true,
        onnx: values.target === 'onnx',
      });
    },
  },
  check: {
    help: `Usage: netspec check <spec.json> [--json]

Validates a spec and prints a summary like Keras model.summary(): each layer with its output shape,
parameters and multiply-accumulates, then the totals. Nothing is written.

Options:
  --json       Print one JSON object: { name, input, output, params: { trainable, nonTrainable, total },
               macs, layers: [{ name, op, outputShape, params, macs }] }
  -h, --help   Show this help`,
    options: { json: { type: 'boolean', default: false } },
    run: async ({ values, positionals }) => {
      if (positionals.length !== 1) throw new UsageError(`check takes exactly one spec file, got ${positionals.length}`);
      const { checkCommand } = await import('./commands.js');
      return checkCommand({ spec: positionals[0]!, json: values.json === true });
    },
  },
  weights: {
    help: `Usage:
  netspec weights import <spec.json> <file.safetensors> --out DIR [--partial] [--rename FROM=TO...]
  netspec weights export <spec.json> <DIR> --out <file.safetensors>

import reads a PyTorch state dict saved as safetensors (F32, F16 or BF16), checks every tensor against the
model the spec describes — names as torchvision names them (conv1.weight, layer1.0.bn1.running_mean,
layer2.0.downsample.0.weight, fc.bias), shapes in PyTorch's layout — converts OIHW convolutions to HWIO and
[out, in] matrices to [in, out], and writes a weights folder (model.json and binary shards) that the
generated module loads with createModel({ weights: DIR }). Every missing, unexpected or misshapen tensor is
listed at once, and nothing is written unless all match. num_batches_tracked is ignored.

export writes a weights folder back as a PyTorch state dict in safetensors (F32).

Options:
  --out PATH             The weights folder (import) or safetensors file (export) to write
  --partial              import: load the layers that match, keep the others at their initialisation, and
                         list what was skipped (fine-tuning with, say, another number of classes)
  --rename FROM=TO       import: rename checkpoint keys first, replacing whole dot-separated segments;
                         repeatable. E.g. --rename shortcut=downsample, or --rename module= to drop a prefix
  -h, --help             Show this help`,
    options: {
      out: { type: 'string' },
      partial: { type: 'boolean', default: false },
      rename: { type: 'string', multiple: true },
    },
    run: async ({ values, positionals }) => {
      const [action, spec, source, ...extra] = positionals;
      if (action !== 'import' && action !== 'export') throw new UsageError(`weights takes import or export, got ${JSON.stringify(action ?? '')}`);
      if (!spec || !source || extra.length > 0) throw new UsageError(`weights ${action} takes a spec and a ${action === 'import' ? 'safetensors file' : 'weights folder'}`);
      if (typeof values.out !== 'string') throw new UsageError(`weights ${action} needs --out`);
      const weights = await import('./weights/commands.js');
      if (action === 'import') {
        return weights.importCommand({ spec, checkpoint: source, out: values.out, partial: values.partial === true, renames: parseRenames(values.rename) });
      }
      if (values.partial || values.rename) throw new UsageError('--partial and --rename apply to weights import');
      return weights.exportCommand({ spec, folder: source, out: values.out });
    },
  },
  predict: {
    help: `Usage: netspec predict <spec.json> --weights DIR [--max-pixels N] <image>...

Builds the spec's model, loads a weights folder written by 'netspec weights import' or 'netspec train', and
classifies each JPEG or PNG image. Prints the top 5 classes with their probabilities: the folder's class names
when it has them ('netspec train' saves Fashion-MNIST's), ImageNet class names for a 1000-class classifier,
class indices otherwise. The backend is chosen as for generated code.

Images become the model's channels first: 1 grey (ITU-R BT.601 luma, as PIL's convert('L')), 2 grey and alpha,
3 RGB, 4 RGBA; grey, palette and transparent images are converted. Then torchvision's evaluation transform:
  - a folder that records its normalisation, as 'netspec train' writes it: the run saw whole frames, so the
    shorter side is resized straight to the input size, centre-cropped to the input's height × width, and
    normalised as the run measured
  - other folders: the shorter side is resized to 256/224 of the input's longer side (256 for 224),
    centre-cropped, and normalised with ImageNet's mean and standard deviation (their luma for grey)
Pixels are fed as they are, never inverted: a Fashion-MNIST model has seen light garments on a black background,
so a dark garment photographed on white looks nothing like what it learnt.

An image that cannot be read or is too large is reported on one line, the others are still classified, and the
exit status is 1.

Options:
  --weights DIR    The weights folder
  --max-pixels N   Refuse images of more than N pixels (width × height), read from the header before
                   decoding (default: 50000000, 50 megapixels)
  -h, --help       Show this help`,
    options: { weights: { type: 'string' }, 'max-pixels': { type: 'string' } },
    run: async ({ values, positionals }) => {
      const [spec, ...images] = positionals;
      if (!spec || images.length === 0) throw new UsageError('predict takes a spec and at least one image');
      if (typeof values.weights !== 'string') throw new UsageError('predict needs --weights DIR');
      const { DEFAULT_MAX_PIXELS } = await import('./runtime/image-header.js');
      const maxPixels = numberOption(values, 'max-pixels', DEFAULT_MAX_PIXELS, { min: 1, integer: true });
      const { predictCommand } = await import('./predict.js');
      return predictCommand({ spec, weights: values.weights, images, maxPixels });
    },
  },
  export: {
    help: `Usage: netspec export onnx <spec.json> [--weights DIR] --out <file.onnx>

Writes the spec's model as a standard ONNX model for inference: opset 17, NCHW input named "input" with a
dynamic batch dimension, one named output per model output (logits, or C2… for backbones), BatchNorm folded
into the convolution before it, dropout removed. Weights come from a weights folder written by
'netspec weights import', or without --weights are freshly initialised from a fixed seed. The generated
<spec>.onnx.ts module runs it with onnxruntime-node.

Options:
  --weights DIR   The weights folder to export
  --out FILE      The ONNX file to write
  -h, --help      Show this help`,
    options: { weights: { type: 'string' }, out: { type: 'string' } },
    run: async ({ values, positionals }) => {
      const [format, spec, ...extra] = positionals;
      if (format !== 'onnx') throw new UsageError(`export takes the format onnx, got ${JSON.stringify(format ?? '')}`);
      if (!spec || extra.length > 0) throw new UsageError('export onnx takes one spec');
      if (typeof values.out !== 'string') throw new UsageError('export onnx needs --out FILE');
      const { exportOnnxCommand } = await import('./weights/commands.js');
      return exportOnnxCommand({ spec, out: values.out, ...(typeof values.weights === 'string' ? { weights: values.weights } : {}) });
    },
  },
  train: {
    help: `Usage: netspec train <spec.json> --data fashion-mnist [options]

Trains the spec's classifier from a seeded initialisation on Fashion-MNIST (Debian's dataset-fashion-mnist
package, or NETSPEC_FASHION_MNIST pointing at its four idx files). Each step runs BatchNorm in training mode;
after each epoch the test set is evaluated in inference mode and a checkpoint is written atomically to
DIR/checkpoint.safetensors. At the end DIR holds weights/ (load with createModel({ weights })), metrics.json
(settings, input normalisation, per-epoch losses and accuracies) and curves.svg. A progress bar shows loss,
accuracy, images per second and the time left; without a terminal, plain lines. Ctrl-C finishes the step,
saves a checkpoint and exits with status 130; --resume continues from it exactly.

On the wasm backend each step's batch is split across worker threads, one model replica per core.

Options:
  --data NAME            The dataset: fashion-mnist (required)
  --out DIR              Output folder (default: runs/<model name>)
  --resume               Continue the run saved in DIR/checkpoint.safetensors with its own settings
  --epochs N             Epochs (default: 3)
  --batch N              Images per step (default: 128)
  --lr X                 Peak learning rate (default: 0.2)
  --schedule NAME        onecycle (default), cosine or constant
  --optimizer NAME       sgd (default) or adam
  --momentum X           SGD momentum (default: 0.9)
  --nesterov BOOL        SGD with Nesterov momentum: true (default) or false
  --weight-decay X       L2 weight decay added to the gradient, as torch.optim does (default: 5e-4)
  --augment NAME         none (default), crop (random crop with 2 pixels of padding) or crop-flip (and a
                         random horizontal flip): worth turning on for runs longer than the default
  --seed N               Seeds the initial weights, the order of the images and the augmentation (default: 0)
  --limit N              Train on the first N training images only (default: all 60,000)
  --workers N            Model replicas, one thread each, splitting every batch (default on wasm: one per
                         core, at most 2; on other backends 1)
  -h, --help             Show this help`,
    options: {
      data: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean', default: false },
      epochs: { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      schedule: { type: 'string' },
      optimizer: { type: 'string' },
      momentum: { type: 'string' },
      nesterov: { type: 'string' },
      'weight-decay': { type: 'string' },
      augment: { type: 'string' },
      seed: { type: 'string' },
      limit: { type: 'string' },
      workers: { type: 'string' },
    },
    run: async ({ values, positionals }) => {
      if (positionals.length !== 1) throw new UsageError(`train takes exactly one spec file, got ${positionals.length}`);
      if (values.data !== 'fashion-mnist') throw new UsageError(`train needs --data fashion-mnist${values.data === undefined ? '' : `; ${JSON.stringify(values.data)} is not a known dataset`}`);
      const given = trainSettings.filter((name) => values[name] !== undefined);
      if (values.resume && given.length > 0) throw new UsageError(`--resume continues with the checkpoint's own settings; drop ${given.map((n) => `--${n}`).join(', ')}`);
      const [{ DEFAULT_CONFIG }, { trainCommand }] = await Promise.all([import('./train/config.js'), import('./train/command.js')]);
      const choice = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
        const value = values[name];
        if (value === undefined) return fallback;
        if (!(allowed as readonly unknown[]).includes(value)) throw new UsageError(`--${name} takes ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
        return value as T;
      };
      const base = DEFAULT_CONFIG;
      const augment = choice('augment', ['none', 'crop', 'crop-flip'], base.augmentation.cropPadding === 0 ? 'none' : base.augmentation.horizontalFlip ? 'crop-flip' : 'crop');
      const config = {
        epochs: numberOption(values, 'epochs', base.epochs, { min: 1, max: 10_000, integer: true }),
        batchSize: numberOption(values, 'batch', base.batchSize, { min: 1, max: 65_536, integer: true }),
        optimizer: {
          ...base.optimizer,
          name: choice('optimizer', ['sgd', 'adam'], base.optimizer.name),
          momentum: numberOption(values, 'momentum', base.optimizer.momentum, { min: 0, max: 1 }),
          nesterov: choice('nesterov', ['true', 'false'], String(base.optimizer.nesterov) as 'true' | 'false') === 'true',
          weightDecay: numberOption(values, 'weight-decay', base.optimizer.weightDecay, { min: 0, max: 1 }),
        },
        learningRate: numberOption(values, 'lr', base.learningRate, { min: 0, max: 100, exclusiveMin: true }),
        schedule: choice('schedule', ['onecycle', 'cosine', 'constant'], base.schedule),
        augmentation: { cropPadding: augment === 'none' ? 0 : 2, horizontalFlip: augment === 'crop-flip' },
        seed: numberOption(values, 'seed', base.seed, { min: 0, max: 2 ** 32 - 1, integer: true }),
        trainLimit: values.limit === undefined ? null : numberOption(values, 'limit', 0, { min: 1, integer: true }),
        replicas: values.workers === undefined ? null : numberOption(values, 'workers', 1, { min: 1, max: 64, integer: true }),
      };
      const spec = positionals[0]!;
      const name = spec.replace(/^.*[\\/]/, '').replace(/\.json$/, '');
      return trainCommand({ spec, data: 'fashion-mnist', out: typeof values.out === 'string' ? values.out : `runs/${name}`, resume: values.resume === true, config });
    },
  },
};

async function main(argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(`${mainHelp}\n`);
    return first === undefined ? EXIT.usage : EXIT.ok;
  }
  if (first === '--version' || first === '-v') {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return EXIT.ok;
  }
  // Own keys only: `constructor` or `__proto__` are not commands.
  if (!Object.hasOwn(commands, first)) throw new UsageError(`unknown command ${JSON.stringify(first)}; commands are ${Object.keys(commands).join(', ')}`);
  const command = commands[first as keyof typeof commands];
  let parsed;
  try {
    parsed = parseArgs({
      args: [...rest],
      options: { ...command.options, help: { type: 'boolean', short: 'h', default: false } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.values.help) {
    process.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  return command.run(parsed as { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const fsFault = fsFaultLine(error, displayPath);
    if (error instanceof UsageError) {
      process.stderr.write(`netspec: ${error.message}\nRun 'netspec --help' for usage.\n`);
      process.exitCode = EXIT.usage;
    } else if (error instanceof OutputError || fsFault !== undefined) {
      // The user's files and folders: what failed, on which path, in one line each; nothing here is a bug.
      const lines = fsFault ?? (error as Error).message;
      process.stderr.write(lines.split('\n').map((line) => `netspec: ${line}\n`).join(''));
      process.exitCode = EXIT.specError;
    } else {
      process.stderr.write(`netspec: internal error, please report it with the spec that caused it:\n${(error as Error).stack ?? String(error)}\n`);
      process.exitCode = EXIT.internal;
    }
  },
);
