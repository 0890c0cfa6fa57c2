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
}

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
