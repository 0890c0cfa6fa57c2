// What `netspec train` hands its engines once the command line is parsed: types only, so that the command, the
// trainers and the PyTorch engine share them without importing one another.
import type { TrainConfig } from '../train/config.js';
import type { TorchLaunch } from '../train/torch-engine.js';
import type { DataSource } from './data-source.js';
import type { DenseCommandOptions } from './train-dense.js';
import type { AskedSizes } from '../runtime/images/pipeline.js';

export interface TrainCommandOptions {
  readonly spec: string;
  readonly data: DataSource;
  /** How an image folder is split and decoded. */
  readonly folder: { readonly valSplit: number; readonly strict: boolean; readonly maxPixels: number };
  readonly out: string;
  readonly resume: boolean;
  /** The weights folder to start from. */
  readonly init: string | undefined;
  /** `--size HxW`, the one size an open-size spec trains at. */
  readonly size: string | undefined;
  /** `--min-size` and `--max-size`: the size policy of an open-size detector or segmenter trained at natural sizes. */
  readonly sizes: AskedSizes;
  /** `replicas` null: as defaultReplicas() chooses for the backend in use. */
  readonly config: Omit<TrainConfig, 'replicas'> & { readonly replicas: number | null };
  /** What a detector's or segmenter's run reads beside, which options were given, and the --augment names each kind of model takes. */
  readonly dense?: Omit<DenseCommandOptions, 'replicas'> & {
    readonly augment: string;
    readonly augments: Readonly<Record<'classification' | 'detection' | 'segmentation', readonly string[]>>;
  };
  /** With --engine torch: how torchrun spreads the run. */
  readonly launch?: TorchLaunch;
}
