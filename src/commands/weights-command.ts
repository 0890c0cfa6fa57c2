import { UserError } from '../errors/user-error.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { displayPath } from '../files/display-path.js';
import { writeAtomically } from '../files/atomic-write.js';
import { readBounded } from '../files/read-bounded.js';
import { assertWritable, PRODUCER } from '../files/output-guard.js';
import { fitsModel, readCheckpoint } from '../weights/checkpoint-file.js';
import { exportCheckpoint, importCheckpoint, type ImportOptions } from '../weights/convert.js';
import { writeWeightsFolder } from '../weights/folder.js';
import { writeSafetensors, type FloatTensor } from '../weights/safetensors.js';
import { writeTorchFile } from '../weights/torch-save.js';
import { defineCommand, UsageError } from './command-line.js';
import { analyzeSpecFile } from './print-diagnostics.js';
import { readUserWeights } from './user-weights.js';

export const command = defineCommand({
  name: 'weights',
  summary: "Convert PyTorch weights (.pth, .pt, .bin, safetensors) to and from a generated model's weights folder",
  forms: [
    { args: 'import <spec.json> <checkpoint>', options: ['out', 'key', 'partial', 'rename'] },
    { args: 'export <spec.json> <DIR>', options: ['out'] },
  ],
  description: `import reads a PyTorch state dict saved with torch.save (.pth, .pt, .bin; the zip format of PyTorch 1.6 and
later, or the legacy one) or as safetensors, telling which from the file's bytes. A torch.save file is read
without Python: its pickle is interpreted, never run, and only what torch.load(weights_only=True) rebuilds is
accepted (dicts, tensors of float32, float16, bfloat16, float64 and the integer types, numbers, strings, lists);
any other Python global is refused, naming it. When the state dict is nested ({"model": …}, {"state_dict": …,
"optimizer": …}) it is found, and --key names it when there are several (timm's state_dict and
state_dict_ema); DistributedDataParallel's module. prefix is dropped. import checks every tensor against the
model the spec describes — names as torchvision names them (conv1.weight, layer1.0.bn1.running_mean,
layer2.0.downsample.0.weight, fc.bias), shapes in PyTorch's layout — converts OIHW convolutions to HWIO and
[out, in] matrices to [in, out], and writes a weights folder (model.json and binary shards) that the
generated module loads with createModel({ weights: DIR }). Every missing, unexpected or misshapen tensor is
listed at once, and nothing is written unless all match. num_batches_tracked is ignored.

export writes a weights folder back as a PyTorch state dict of float32 tensors: a torch.save file that
torch.load(path, weights_only=True) loads when --out ends in .pth or .pt, safetensors otherwise.`,
  options: {
    out: { type: 'string', arg: 'PATH', required: true, help: 'The weights folder (import), or the .pth, .pt or safetensors file (export) to write' },
    key: {
      type: 'string',
      arg: 'NAME',
      help: 'import: the entry of a torch.save checkpoint that holds the state dict, when it holds several (e.g. --key state_dict_ema)',
    },
    partial: {
      type: 'boolean',
      help: 'import: load the layers that match, keep the others at their initialisation, and list what was skipped (fine-tuning with, say, another number of classes)',
    },
    rename: {
      type: 'string',
      arg: 'FROM=TO',
      multiple: true,
      help: 'import: rename checkpoint keys first, replacing whole dot-separated segments; repeatable. E.g. --rename shortcut=downsample, or --rename model= to drop a prefix',
    },
  },
  run: async ({ values, positionals }) => {
    const [action, spec, source, ...extra] = positionals;
    if (action !== 'import' && action !== 'export') throw new UsageError(`weights takes import or export, got ${JSON.stringify(action ?? '')}`);
    if (!spec || !source || extra.length > 0)
      throw new UsageError(`weights ${action} takes a spec and a ${action === 'import' ? 'checkpoint' : 'weights folder'}`);
    if (values.out === undefined) throw new UsageError(`weights ${action} needs --out`);
    if (action === 'import')
      return importCommand({ spec, checkpoint: source, out: values.out, key: values.key, partial: values.partial, renames: parseRenames(values.rename) });
    if (values.partial || values.rename.length > 0 || values.key !== undefined) throw new UsageError('--key, --partial and --rename apply to weights import');
    return exportCommand({ spec, folder: source, out: values.out });
  },
});

/** `--rename FROM=TO` values as pairs; a malformed one is a usage error. */
function parseRenames(values: readonly string[]): [string, string][] {
  return values.map((value) => {
    const match = /^([^=]+)=([^=]*)$/.exec(value);
    if (!match) throw new UsageError(`--rename takes FROM=TO, got ${JSON.stringify(value)}`);
    return [match[1]!, match[2]!];
  });
}

export const megabytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

/** The largest file one buffer holds in Node; a checkpoint past it cannot be read at once. */
const MAX_CHECKPOINT_BYTES = 2 ** 32 - 2;

function readInput(path: string): Uint8Array {
  const read = readBounded(path, MAX_CHECKPOINT_BYTES);
  if (read instanceof Uint8Array) return read;
  const reason = read.kind === 'tooLarge' ? `the file is ${read.size}; checkpoints are read whole, up to ${MAX_CHECKPOINT_BYTES} bytes` : read.reason;
  throw new UserError(`cannot read ${path}: ${reason}`);
}

async function importCommand(options: { spec: string; checkpoint: string; out: string; key: string | undefined } & ImportOptions): Promise<number> {
  const started = performance.now();
  assertWritable([{ path: options.out, kind: 'weights-folder' }]);
  const graph = analyzeSpecFile(options.spec, 'inference');
  const checkpoint = readCheckpoint(options.checkpoint, readInput(options.checkpoint), { key: options.key, fits: fitsModel(graph, options.renames) });
  const imported = importCheckpoint(graph, options.checkpoint, checkpoint, options);
  // A spec that declares its pretrained preprocessing hands its normalisation on to predict through the folder.
  const input = graph.preprocess ? { input: graph.preprocess } : {};
  writeWeightsFolder(options.out, graph.name, imported.weights, imported.skippedLayers, input);
  for (const line of imported.skipped) process.stderr.write(`skipped: ${line}\n`);
  const size = imported.weights.reduce((sum, w) => sum + w.data.byteLength, 0);
  process.stdout.write(
    `imported ${imported.weights.length} tensors (${megabytes(size)}) of ${graph.name} from ${displayPath(options.checkpoint)} into ${displayPath(options.out)} in ${Math.round(performance.now() - started)} ms` +
      (imported.skippedLayers.length > 0 ? `; ${imported.skippedLayers.length} layers keep their initialisation: ${imported.skippedLayers.join(', ')}` : '') +
      '\n',
  );
  return 0;
}

/**
 * A weights folder's weights in PyTorch names and layouts. A folder that cannot be read is a UserError naming the
 * file at fault; weights that do not fit the graph are a WeightFileError listing each.
 */
export async function torchWeightsOf(graph: AnalyzedGraph, path: string): Promise<Map<string, FloatTensor>> {
  const folder = await readUserWeights(path);
  return exportCheckpoint(graph, path, folder.weights, folder.manifest.skipped);
}

async function exportCommand(options: { spec: string; folder: string; out: string }): Promise<number> {
  const kind = /\.(pth|pt)$/i.test(options.out) ? 'pth' : 'safetensors';
  assertWritable([{ path: options.out, kind }]);
  const graph = analyzeSpecFile(options.spec, 'inference');
  const tensors = await torchWeightsOf(graph, options.folder);
  const bytes =
    kind === 'pth'
      ? writeTorchFile(options.out, tensors)
      : writeSafetensors(
          tensors,
          new Map([
            ['format', 'pt'],
            ['model', graph.name],
            ['producer', PRODUCER],
          ]),
        );
  writeAtomically(options.out, bytes, kind);
  process.stdout.write(`exported ${tensors.size} tensors (${megabytes(bytes.length)}) of ${graph.name} to ${displayPath(options.out)}\n`);
  return 0;
}
