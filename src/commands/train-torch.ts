// `netspec train --engine torch`: the same spec, data and recipe, trained by PyTorch through torchrun.
import { emitPytorch } from '../emit/pytorch.js';
import { readWeightsFolder } from '../runtime/weights/files.js';
import type { TrainConfig } from '../train/config.js';
import { assertTorchrun, TorchEngineError, trainWithTorch, type TorchLaunch } from '../train/torch-engine.js';
import { dataMismatch, dataSourceName, loadDataSource, type DataSource } from './data-source.js';
import { analyzeSpecFile } from './print-diagnostics.js';
import { UserError } from '../errors/user-error.js';

export interface TrainTorchOptions {
  readonly spec: string;
  readonly data: DataSource;
  readonly folder: { readonly valSplit: number; readonly strict: boolean; readonly maxPixels: number };
  /** The weights folder to start from. */
  readonly init: string | undefined;
  readonly out: string;
  readonly resume: boolean;
  readonly config: TrainConfig;
  readonly launch: TorchLaunch;
}

/** Loads and checks the data as the tfjs engine does, then hands the run to torchrun; failures are user errors of one line. */
export async function trainTorchCommand(options: TrainTorchOptions): Promise<number> {
  const graph = analyzeSpecFile(options.spec);
  if (graph.task)
    throw new UserError(`--engine torch trains classifiers so far; ${graph.name} is a ${graph.task.kind} model: train it with --engine tfjs (the default)`);
  // Before seconds of decoding: without PyTorch there is nothing to hand the data to.
  assertTorchrun();
  const data = await loadDataSource(options.data, graph, { ...options.folder, seed: options.config.seed });
  const mismatch = dataMismatch(dataSourceName(options.data), data, graph);
  if (mismatch) throw new TorchEngineError(mismatch);
  const init = options.init === undefined ? undefined : { weights: (await readWeightsFolder(options.init)).weights, source: options.init };
  await trainWithTorch({
    graph,
    module: emitPytorch(graph),
    data,
    config: options.config,
    init,
    out: options.out,
    resume: options.resume,
    launch: options.launch,
  });
  return 0;
}
