import { DEFAULT_MAX_PIXELS } from '../runtime/images/header.js';
import { NO_AUGMENTATION, type Augmentation } from '../train/batches.js';
import { CHECKPOINT_FILE } from '../train/checkpoint.js';
import { CONFIG_BOUNDS, DEFAULT_CONFIG, MAX_DEFAULT_REPLICAS } from '../train/config.js';
import { optimizerNames } from '../train/optimizer-names.js';
import { schedules } from '../train/schedule.js';
import { DEFAULT_VAL_SPLIT } from '../train/image-folder-data.js';
import { DATA_SOURCE_ARG, TRAINING_SOURCES, parseDataSource } from './data-source.js';
import { defineCommand, UsageError, type OptionTable, type OptionValues } from './command-line.js';
import type { TrainCommandOptions } from './train-options.js';
import { DENSE_OPTIMIZER, recipeText } from '../train/dense/recipes.js';
import { SIZE_OPTIONS } from './run-options.js';

/** A run's folder when --out is not given: runs/<spec file's name>. */
const RUNS_DIR = 'runs';

/** The --augment names, and the augmentation each stands for. */
const AUGMENTATIONS = {
  none: NO_AUGMENTATION,
  crop: { cropPadding: 2, horizontalFlip: false },
  'crop-flip': { cropPadding: 2, horizontalFlip: true },
  'resized-crop': { cropPadding: 0, horizontalFlip: false, resizedCrop: true },
  'resized-crop-flip': { cropPadding: 0, horizontalFlip: true, resizedCrop: true },
  flip: { cropPadding: 0, horizontalFlip: true },
  'scale-flip': { cropPadding: 0, horizontalFlip: true, scaleRange: [0.5, 1.5] },
  reference: { cropPadding: 0, horizontalFlip: true, segmentationRecipe: true },
} as const satisfies Record<string, Augmentation>;
/** The --augment names each kind of model takes. */
const TASK_AUGMENTATIONS = {
  classification: ['none', 'crop', 'crop-flip', 'resized-crop', 'resized-crop-flip'],
  detection: ['none', 'flip', 'scale-flip'],
  segmentation: ['none', 'reference'],
} as const satisfies Record<string, readonly (keyof typeof AUGMENTATIONS)[]>;
const augmentationNames = Object.keys(AUGMENTATIONS) as (keyof typeof AUGMENTATIONS)[];

/** The --augment name of an augmentation; DEFAULT_CONFIG's must have one, or the help could not state the default. */
function augmentationName(augmentation: Augmentation): keyof typeof AUGMENTATIONS {
  const same = (a: Augmentation) =>
    a.cropPadding === augmentation.cropPadding &&
    a.horizontalFlip === augmentation.horizontalFlip &&
    Boolean(a.resizedCrop) === Boolean(augmentation.resizedCrop) &&
    !('scaleRange' in a) &&
    !('segmentationRecipe' in a);
  const name = augmentationNames.find((n) => same(AUGMENTATIONS[n]));
  if (name === undefined) throw new Error(`no --augment name stands for ${JSON.stringify(augmentation)}`);
  return name;
}

const options = {
  data: {
    type: 'string',
    arg: DATA_SOURCE_ARG,
    required: true,
    help: `The dataset: ${TRAINING_SOURCES} (CIFAR: a folder of its binary files; an image folder: one subfolder per class)`,
  },
  out: { type: 'string', arg: 'DIR', defaultText: `${RUNS_DIR}/<model name>`, help: 'Output folder' },
  resume: { type: 'boolean', help: `Continue the run saved in DIR/${CHECKPOINT_FILE} with its own settings` },
  epochs: { type: 'number', arg: 'N', default: DEFAULT_CONFIG.epochs, ...CONFIG_BOUNDS.epochs, help: 'Epochs' },
  batch: { type: 'number', arg: 'N', default: DEFAULT_CONFIG.batchSize, ...CONFIG_BOUNDS.batchSize, help: 'Images per step' },
  lr: { type: 'number', arg: 'X', default: DEFAULT_CONFIG.learningRate, ...CONFIG_BOUNDS.learningRate, help: 'Peak learning rate' },
  schedule: { type: 'choice', arg: 'NAME', choices: schedules, default: DEFAULT_CONFIG.schedule, help: 'Learning-rate schedule' },
  optimizer: { type: 'choice', arg: 'NAME', choices: optimizerNames, default: DEFAULT_CONFIG.optimizer.name, help: 'Optimiser' },
  momentum: { type: 'number', arg: 'X', default: DEFAULT_CONFIG.optimizer.momentum, ...CONFIG_BOUNDS.momentum, help: 'SGD momentum' },
  nesterov: { type: 'choice', arg: 'BOOL', choices: ['true', 'false'], default: String(DEFAULT_CONFIG.optimizer.nesterov), help: 'SGD with Nesterov momentum' },
  'weight-decay': {
    type: 'number',
    arg: 'X',
    default: DEFAULT_CONFIG.optimizer.weightDecay,
    ...CONFIG_BOUNDS.weightDecay,
    help: 'L2 weight decay added to the gradient, as torch.optim does',
  },
  augment: {
    type: 'choice',
    arg: 'NAME',
    choices: augmentationNames,
    default: augmentationName(DEFAULT_CONFIG.augmentation),
    help:
      `Augmentation: crop takes a random crop with ${AUGMENTATIONS.crop.cropPadding} pixels of padding, crop-flip adds a random horizontal flip; ` +
      'resized-crop takes a random box of 25–100% of the area and aspect 3/4–4/3 resized to the input (RandomResizedCrop), resized-crop-flip adds the flip; worth turning on for runs longer than the default. ' +
      `Detectors take none, flip (a random horizontal flip; their default) or scale-flip (the letterbox scaled by 0.5–1.5, cropped or padded to the input, and flipped); ` +
      "segmenters take none or reference (torchvision's recipe: random resize 0.5–2× of the base size, flip, random crop padded with 255; their default)",
  },
  size: {
    type: 'string',
    arg: 'HxW',
    help:
      'Specs whose input size is open: the one size to train at, such as 512x512 (the weights then serve every size the spec takes; give it again with --resume). ' +
      'Without it, open-size detectors and segmenters train at natural sizes (--min-size, --max-size)',
  },
  ...SIZE_OPTIONS,
  'val-data': {
    type: 'string',
    arg: DATA_SOURCE_ARG,
    help: 'Detectors and segmenters: the validation data, scored after every epoch (needed for coco:, whose files hold one split each)',
  },
  splits: {
    type: 'string',
    arg: 'TRAIN,VAL',
    defaultText: 'train,val',
    help: 'Detectors and segmenters on voc: or masks: data: the splits to train and validate on',
  },
  'clip-grad': {
    type: 'number',
    arg: 'X',
    defaultText: 'off; 10 for detectors',
    ...CONFIG_BOUNDS.clipGradNorm,
    help: 'Scale the gradients down to a global 2-norm of X when above it (clip_grad_norm_)',
  },
  'val-split': {
    type: 'number',
    arg: 'X',
    default: DEFAULT_VAL_SPLIT,
    min: 0,
    max: 0.9,
    exclusiveMin: true,
    help: 'Image folders without val/ or test/: the fraction of each class held back for validation, chosen by --seed',
  },
  strict: { type: 'boolean', help: 'Image folders: refuse an image that cannot be decoded instead of skipping it' },
  'max-pixels': {
    type: 'number',
    arg: 'N',
    default: DEFAULT_MAX_PIXELS,
    min: 1,
    integer: true,
    help: 'Image folders: skip (or under --strict refuse) images of more than N pixels, read from the header',
  },
  init: {
    type: 'string',
    arg: 'WEIGHTS_DIR',
    help: 'Start from a weights folder (imported or trained) instead of a fresh initialisation; a classifier head for another class count starts fresh',
  },
  freeze: {
    type: 'string',
    arg: 'LAYERS',
    help: 'Comma-separated layers to keep as they are, BatchNorm in inference mode: stem (the layers before layer1), layer1, layer2.0, fc, …',
  },
  seed: {
    type: 'number',
    arg: 'N',
    default: DEFAULT_CONFIG.seed,
    ...CONFIG_BOUNDS.seed,
    help: 'Seeds the initial weights, the order of the images and the augmentation',
  },
  limit: {
    type: 'number',
    arg: 'N',
    defaultText: 'every training image',
    ...CONFIG_BOUNDS.trainLimit,
    help: 'Train on N training images only, drawn from every class in proportion to its size (seeded by --seed)',
  },
  workers: {
    type: 'number',
    arg: 'N',
    defaultText: `on wasm one per core, at most ${MAX_DEFAULT_REPLICAS}; on other backends 1`,
    ...CONFIG_BOUNDS.replicas,
    help: 'Model replicas, one thread each, splitting every batch',
  },
  engine: {
    type: 'choice',
    arg: 'NAME',
    choices: ['tfjs', 'torch'],
    default: 'tfjs',
    help: "tfjs trains in this process; torch runs PyTorch through torchrun on the spec's emitted nn.Module",
  },
  nproc: {
    type: 'number',
    arg: 'N',
    default: 1,
    min: 1,
    max: 1024,
    integer: true,
    help: '--engine torch: processes on this machine (one per GPU, or CPU processes on gloo)',
  },
  nnodes: { type: 'number', arg: 'N', default: 1, min: 1, max: 65_536, integer: true, help: '--engine torch: machines in the run' },
  'node-rank': { type: 'number', arg: 'R', default: 0, min: 0, integer: true, help: "--engine torch: this machine's rank, 0 … nnodes − 1" },
  'rdzv-endpoint': { type: 'string', arg: 'HOST:PORT', help: '--engine torch with --nnodes above 1: where the machines meet (c10d rendezvous)' },
} as const satisfies OptionTable;

/** Options of netspec's own trainer that the PyTorch engine does not take. */
const TFJS_ONLY = ['workers', 'freeze', 'min-size', 'max-size'] as const satisfies readonly (keyof typeof options)[];
/** Options that only the PyTorch engine reads. */
const TORCH_ONLY = ['nproc', 'nnodes', 'node-rank', 'rdzv-endpoint'] as const satisfies readonly (keyof typeof options)[];

/** The options that set up a run; a resumed run keeps its saved settings, so they cannot be combined with --resume. */
const RUN_SETTINGS = [
  'epochs',
  'batch',
  'lr',
  'optimizer',
  'momentum',
  'nesterov',
  'weight-decay',
  'schedule',
  'augment',
  'seed',
  'limit',
  'workers',
  'init',
  'freeze',
  'clip-grad',
  'min-size',
  'max-size',
] as const satisfies readonly (keyof typeof options)[];

export const command = defineCommand({
  name: 'train',
  summary:
    "Train a spec's classifier, detector or segmenter on Fashion-MNIST, CIFAR, image folders, COCO, VOC or mask folders, with checkpoints, resume and curves",
  forms: [{ args: '<spec.json>', options: ['data'], after: '[options]' }],
  description: `Trains the spec's classifier from a seeded initialisation on one of:
  - fashion-mnist: Debian's dataset-fashion-mnist package, or NETSPEC_FASHION_MNIST pointing at its four idx files
  - cifar10:DIR, cifar100:DIR (fine labels), cifar100-coarse:DIR: the CIFAR binary version's files, each of the
    published size (data_batch_1.bin … data_batch_5.bin and test_batch.bin; train.bin and test.bin)
  - DIR: an image folder, one subfolder per class of JPEG or PNG files (ImageFolder's layout), with DIR/train and
    DIR/val (or DIR/test) as the splits when present, else --val-split of each class held back. Images are
    converted to the spec's channels, their shorter side resized (antialiased, as PIL) to the input size and
    centre-cropped, and kept in memory at that size; undecodable images are listed and skipped.
Each step runs BatchNorm in training mode;
after each epoch the test set is evaluated in inference mode and a checkpoint is written atomically to
DIR/${CHECKPOINT_FILE}. At the end DIR holds weights/ (load with createModel({ weights })), metrics.json
(settings, input normalisation, per-epoch losses and accuracies) and curves.svg; the weights folder records the
normalisation and the class names, which predict, eval and export read. A progress bar shows loss,
accuracy, images per second and the time left; without a terminal, plain lines. Ctrl-C finishes the step,
saves a checkpoint and exits with status 130 (SIGTERM likewise, with 143); --resume continues from it exactly,
after checking everything it holds against the spec.

On the wasm backend each step's batch is split across worker threads, one model replica per core.

A detection or segmentation spec trains on coco:ANNOTATIONS.json (with --val-data coco:… for the validation split),
voc:DIR or masks:DIR (--splits TRAIN,VAL, default train,val), read a batch at a time from the files, with
torchvision's losses (RetinaNet's focal and L1 losses; cross-entropy ignoring 255, plus half the auxiliary
head's), the validation scored after each epoch (COCO's AP and AP50; mean IoU and pixel accuracy), and the
category mapping saved with the weights. Options not given follow torchvision's reference recipes:
  - detectors: ${recipeText('detection')}
  - segmenters: ${recipeText('segmentation')}
both SGD with momentum ${DENSE_OPTIMIZER.momentum} and weight decay ${DENSE_OPTIMIZER.weightDecay}, without Nesterov. --init from trained weights keeps
what fits (the class logits of another class count start fresh) and, in a detector, freezes the backbone's BatchNorm.

With --engine torch the run is PyTorch's: DIR gets the spec's nn.Module (model.py), the settings and the images,
and torchrun runs the training script netspec ships on --nproc processes per machine and --nnodes machines
(DistributedDataParallel, nccl on GPUs, gloo on CPUs, BatchNorm over the whole global batch), with the same
optimisers, schedules, crop and flip augmentation and normalisation, from the same initial weights (--seed or
--init) and on the same batches as netspec's trainer, a checkpoint after each epoch for --resume
(checkpoint.safetensors: tensors and JSON, no pickle; checked against the spec and model.py written again from
it before a resumed run starts), and at the end the same weights/, metrics.json and curves.svg. Every machine runs the same
command with its own --node-rank; the machine that runs rank 0 writes the results. Detectors and segmenters train
so too: DIR gets an index of the image, box and mask files (torch-data.json) instead of the images, which
DataLoader workers read; the losses are torchvision's; netspec scores the final weights on the validation split.`,
  options,
  run: async ({ values, positionals, given }) => {
    if (positionals.length !== 1) throw new UsageError(`train takes exactly one spec file, got ${positionals.length}`);
    const data = parseDataSource(values.data, 'train');
    const settings = RUN_SETTINGS.filter((name) => given.has(name));
    if (values.resume && settings.length > 0)
      throw new UsageError(`--resume continues with the checkpoint's own settings; drop ${settings.map((n) => `--${n}`).join(', ')}`);
    const spec = positionals[0]!;
    const name = spec.replace(/^.*[\\/]/, '').replace(/\.json$/, '');
    const folder = { valSplit: values['val-split'], strict: values.strict, maxPixels: values['max-pixels'] };
    const out = values.out ?? `${RUNS_DIR}/${name}`;
    const dense = { valData: values['val-data'], splits: values.splits, augment: values.augment, augments: TASK_AUGMENTATIONS, given };
    const sizes = { minSize: values['min-size'], maxSize: values['max-size'] };
    const run = { spec, data, folder, init: values.init, out, resume: values.resume, dense, size: values.size, sizes };
    if (values.engine === 'torch') {
      const unsupported = TFJS_ONLY.filter((option) => given.has(option));
      if (unsupported.length > 0) throw new UsageError(`--engine torch does not take ${unsupported.map((n) => `--${n}`).join(', ')}`);
      if (values.augment.startsWith('resized-crop')) throw new UsageError('--engine torch takes --augment none, crop or crop-flip');
      if (values['node-rank'] >= values.nnodes) throw new UsageError(`--node-rank must be below --nnodes (${values.nnodes}), got ${values['node-rank']}`);
      if (values.nnodes > 1 && values['rdzv-endpoint'] === undefined)
        throw new UsageError('--nnodes above 1 needs --rdzv-endpoint HOST:PORT, where the machines meet');
      const launch = { nproc: values.nproc, nnodes: values.nnodes, nodeRank: values['node-rank'], rdzvEndpoint: values['rdzv-endpoint'] };
      // The run's modules load only to run: tfjs takes most of a second to load, and a usage error needs none of it.
      const { trainCommand } = await import('./train-run.js');
      return trainCommand({ ...run, config: { ...configOf(values), replicas: 1 }, launch });
    }
    const torchOnly = TORCH_ONLY.filter((option) => given.has(option));
    if (torchOnly.length > 0) throw new UsageError(`${torchOnly.map((n) => `--${n}`).join(', ')} set up --engine torch`);
    const { trainCommand } = await import('./train-run.js');
    return trainCommand({ ...run, config: configOf(values) });
  },
});

/** The run's settings from the command line, each option at DEFAULT_CONFIG's value unless given. */
function configOf(values: OptionValues<typeof options>): TrainCommandOptions['config'] {
  return {
    epochs: values.epochs,
    batchSize: values.batch,
    optimizer: {
      ...DEFAULT_CONFIG.optimizer,
      name: values.optimizer,
      momentum: values.momentum,
      nesterov: values.nesterov === 'true',
      weightDecay: values['weight-decay'],
    },
    learningRate: values.lr,
    schedule: values.schedule,
    augmentation: AUGMENTATIONS[values.augment],
    seed: values.seed,
    trainLimit: values.limit ?? null,
    replicas: values.workers ?? null,
    clipGradNorm: values['clip-grad'] ?? null,
    freeze:
      values.freeze === undefined
        ? []
        : values.freeze
            .split(',')
            .map((name) => name.trim())
            .filter((name) => name !== ''),
  };
}
