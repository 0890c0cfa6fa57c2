// Training from code: the same loop `netspec train` runs, and its parts.
export { train, type TrainOptions, type TrainResult } from './train.js';
export { DEFAULT_CONFIG, type TrainConfig } from './config.js';
export { loadFashionMnist, FASHION_MNIST_CLASSES } from '../data/fashion-mnist.js';
export type { ImageSet } from '../data/image-set.js';
export { DataFileError } from '../data/data-file-error.js';
export { readIdx, readIdxFile } from '../data/idx.js';
export { assembleBatch, epochOrder, measureNormalization, type Augmentation, type Normalization } from './batches.js';
export { learningRate, type Schedule } from './schedule.js';
export { Optimizer, type OptimizerConfig, type OptimizerName } from './optimizer.js';
export { CHECKPOINT_FILE, readCheckpoint, readRunCheckpoint, writeCheckpoint, type Checkpoint, type CheckpointState } from './checkpoint.js';
export { plotHistory, type EpochRecord } from './plot.js';
export { progressReporter, type ProgressReporter } from './progress.js';
export { registerWasmGradients } from '../runtime/training/wasm-gradients.js';
export { loadCifar, readCifarFiles, CIFAR10_CLASSES, type CifarVariant } from '../data/cifar.js';
export { listImageFolder, type ImageFolderListing } from '../data/image-folder.js';
export { loadImageFolder, loadEvalFolder, type ImageFolderOptions } from './image-folder-data.js';
export { evaluationReport, formatReport, confusionSvg, predictLabels, type EvaluationReport } from './evaluation.js';
export { frozenLayers } from './fine-tune.js';
