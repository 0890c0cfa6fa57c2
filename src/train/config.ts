// A run's settings, apart from the loop that reads them: the checkpoint saves them and the loop runs them, and
// neither should import the other for the type.
import type { Augmentation } from './batches.js';
import type { OptimizerConfig } from './optimizer.js';
import type { Schedule } from './schedule.js';

export interface TrainConfig {
  readonly epochs: number;
  readonly batchSize: number;
  readonly optimizer: OptimizerConfig;
  /** The peak learning rate the schedule starts from or rises to. */
  readonly learningRate: number;
  readonly schedule: Schedule;
  readonly augmentation: Augmentation;
  /** Seeds the initial weights, each epoch's order and each batch's augmentation. */
  readonly seed: number;
  /** Train on the first this many training images only; null for all. */
  readonly trainLimit: number | null;
  /** Replicas, one per thread, that split each batch (data-parallel). */
  readonly replicas: number;
  /** Layers kept as they are (see frozenLayers: `stem`, `layer1`, …), their BatchNorm in inference mode; absent in older checkpoints. */
  readonly freeze?: readonly string[];
  /** Gradients are scaled to this global 2-norm when above it (clip_grad_norm_); null or absent: not clipped. */
  readonly clipGradNorm?: number | null;
  /**
   * Open-size detectors and segmenters trained at natural sizes: torchvision's size policy, each image's shorter side
   * scaled to `minSize` with its longer at most `maxSize`; absent or null for a run at one input size.
   */
  readonly naturalSizes?: NaturalSizes | null;
}

/** The two sides of torchvision's size policy (see naturalSize). */
export interface NaturalSizes {
  readonly minSize: number;
  readonly maxSize: number;
}

/** On wasm, replicas by default are one per core, up to this many. */
export const MAX_DEFAULT_REPLICAS = 2;

/**
 * The settings `netspec train` uses unless told otherwise: a short one-cycle recipe sized for ResNet-20 on
 * Fashion-MNIST in about half an hour on two cores. Three epochs leave the model underfitting rather than
 * overfitting, so augmentation is off; longer runs should turn it on.
 */
export const DEFAULT_CONFIG: TrainConfig = {
  epochs: 3,
  batchSize: 128,
  optimizer: { name: 'sgd', momentum: 0.9, nesterov: true, weightDecay: 5e-4, betas: [0.9, 0.999], epsilon: 1e-8 },
  learningRate: 0.2,
  schedule: 'onecycle',
  augmentation: { cropPadding: 0, horizontalFlip: false },
  seed: 0,
  trainLimit: null,
  replicas: 1,
};

interface Bounds {
  readonly min: number;
  readonly max?: number;
  readonly integer?: boolean;
  /** The value must be above `min`, not merely at least `min`. */
  readonly exclusiveMin?: boolean;
}

/**
 * The range of each numeric setting: the command line's options take them from here, and a saved run's settings
 * (a checkpoint's) are held to them before the run continues, so that neither admits what the other refuses.
 */
export const CONFIG_BOUNDS = {
  epochs: { min: 1, max: 10_000, integer: true },
  batchSize: { min: 1, max: 65_536, integer: true },
  learningRate: { min: 0, max: 100, exclusiveMin: true },
  momentum: { min: 0, max: 1 },
  weightDecay: { min: 0, max: 1 },
  seed: { min: 0, max: 2 ** 32 - 1, integer: true },
  trainLimit: { min: 1, integer: true },
  replicas: { min: 1, max: 64, integer: true },
  clipGradNorm: { min: 0, max: 1e6, exclusiveMin: true },
  side: { min: 1, max: 65_536, integer: true },
} as const satisfies Record<string, Bounds>;

/** Why a saved scale-jitter range is unusable, or undefined (absent is off). */
function scaleRangeProblem(range: unknown): string | undefined {
  if (range === undefined) return undefined;
  const ok = Array.isArray(range) && range.length === 2 && range.every((x) => typeof x === 'number' && x > 0 && x <= 10) && range[0] <= range[1];
  return ok ? undefined : `the scale range ${JSON.stringify(range)} is not two numbers 0 < low ≤ high ≤ 10`;
}

/** Why a saved size policy is unusable, or undefined (absent or null is one input size). */
function naturalSizesProblem(sizes: unknown): string | undefined {
  if (sizes === undefined || sizes === null) return undefined;
  if (typeof sizes !== 'object') return 'the natural sizes are not an object';
  const { minSize, maxSize } = sizes as Record<string, unknown>;
  return outOfBounds('the natural size', minSize, CONFIG_BOUNDS.side) ?? outOfBounds('the largest natural side', maxSize, CONFIG_BOUNDS.side);
}

/** Why `value` is outside `bounds`, in words naming `what`, or undefined. */
function outOfBounds(what: string, value: unknown, bounds: Bounds): string | undefined {
  const number = typeof value === 'number' && Number.isFinite(value) ? value : undefined;
  const low = number === undefined || (bounds.exclusiveMin ? number <= bounds.min : number < bounds.min);
  const high = number !== undefined && bounds.max !== undefined && number > bounds.max;
  if (!low && !high && !(bounds.integer && !Number.isInteger(number))) return undefined;
  const range = `${bounds.exclusiveMin ? 'above' : 'from'} ${bounds.min}${bounds.max !== undefined ? ` to ${bounds.max}` : ''}`;
  return `${what} is ${JSON.stringify(value) ?? String(value)}; it must be ${bounds.integer ? 'an integer' : 'a number'} ${range}`;
}

/**
 * Why a run's settings read from a file (a checkpoint) cannot drive a run, or undefined: every field a run reads,
 * of the right type and within CONFIG_BOUNDS, the optimiser and schedule ones netspec has (the replica count only
 * for the tfjs engine).
 */
export function configProblem(
  value: unknown,
  optimizers: readonly string[],
  scheduleNames: readonly string[],
  engine: 'tfjs' | 'torch' = 'tfjs',
): string | undefined {
  if (typeof value !== 'object' || value === null) return 'the settings are not an object';
  const config = value as Record<string, unknown>;
  const optimizer = (typeof config.optimizer === 'object' && config.optimizer !== null ? config.optimizer : {}) as Record<string, unknown>;
  const augmentation = (typeof config.augmentation === 'object' && config.augmentation !== null ? config.augmentation : {}) as Record<string, unknown>;
  const betas = Array.isArray(optimizer.betas) ? optimizer.betas : [];
  const unit = (what: string, x: unknown) =>
    typeof x === 'number' && x >= 0 && x < 1 ? undefined : `${what} is ${JSON.stringify(x) ?? String(x)}; it must be a number from 0 to below 1`;
  return (
    outOfBounds('the epoch count', config.epochs, CONFIG_BOUNDS.epochs) ??
    outOfBounds('the batch size', config.batchSize, CONFIG_BOUNDS.batchSize) ??
    outOfBounds('the learning rate', config.learningRate, CONFIG_BOUNDS.learningRate) ??
    (typeof config.schedule === 'string' && scheduleNames.includes(config.schedule)
      ? undefined
      : `the schedule ${JSON.stringify(config.schedule)} is not one of ${scheduleNames.join(', ')}`) ??
    (typeof optimizer.name === 'string' && optimizers.includes(optimizer.name)
      ? undefined
      : `the optimiser ${JSON.stringify(optimizer.name)} is not one of ${optimizers.join(', ')}`) ??
    outOfBounds('the momentum', optimizer.momentum, CONFIG_BOUNDS.momentum) ??
    (typeof optimizer.nesterov === 'boolean' ? undefined : 'nesterov is not true or false') ??
    outOfBounds('the weight decay', optimizer.weightDecay, CONFIG_BOUNDS.weightDecay) ??
    (betas.length === 2 ? (unit("Adam's β₁", betas[0]) ?? unit("Adam's β₂", betas[1])) : "Adam's betas are not two numbers") ??
    (typeof optimizer.epsilon === 'number' && optimizer.epsilon > 0 && Number.isFinite(optimizer.epsilon)
      ? undefined
      : `Adam's ε is ${JSON.stringify(optimizer.epsilon) ?? String(optimizer.epsilon)}; it must be a positive number`) ??
    (Number.isInteger(augmentation.cropPadding) && (augmentation.cropPadding as number) >= 0 && (augmentation.cropPadding as number) <= 64
      ? undefined
      : 'the crop padding is not an integer from 0 to 64') ??
    (typeof augmentation.horizontalFlip === 'boolean' &&
    [augmentation.resizedCrop, augmentation.segmentationRecipe].every((flag) => flag === undefined || typeof flag === 'boolean')
      ? undefined
      : 'the augmentation flags are not true or false') ??
    outOfBounds('the seed', config.seed, CONFIG_BOUNDS.seed) ??
    (config.trainLimit === null ? undefined : outOfBounds('the image limit', config.trainLimit, CONFIG_BOUNDS.trainLimit)) ??
    // The PyTorch engine's settings leave the replica count out: it says nothing of a torchrun run.
    (engine === 'torch' ? undefined : outOfBounds('the replica count', config.replicas, CONFIG_BOUNDS.replicas)) ??
    (config.freeze === undefined || (Array.isArray(config.freeze) && config.freeze.every((name) => typeof name === 'string'))
      ? undefined
      : 'freeze is not a list of layer names') ??
    (config.clipGradNorm === undefined || config.clipGradNorm === null
      ? undefined
      : outOfBounds('the gradient clipping norm', config.clipGradNorm, CONFIG_BOUNDS.clipGradNorm)) ??
    scaleRangeProblem(augmentation.scaleRange) ??
    naturalSizesProblem(config.naturalSizes)
  );
}
