import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../build/model.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { modelWeights, setModelWeights } from '../runtime/weights/load.js';
import type { NamedWeight } from '../runtime/weights/folder.js';
import { initialWeights } from '../weights/init.js';
import { toTfjs, weightSlots } from '../weights/mapping.js';
import { freezeBatchNorm, frozenLayers } from './fine-tune.js';
import { Optimizer, type OptimizerConfig } from './optimizer.js';
import { seedTrainingRandomness } from '../runtime/ops/training-random.js';
import { denseLoss, targetCount, type DenseTargets } from './dense/dense-loss.js';
import { withoutRandomInit } from '../runtime/ops/op.js';

/** What one forward and backward pass over a (sub-)batch yields: the mean-loss gradient of every trainable weight, flat. */
export interface GradientResult {
  readonly gradients: Float32Array;
  /** Sum, not mean, of the per-image losses, and the number classified correctly. */
  readonly lossSum: number;
  readonly correct: number;
  readonly count: number;
  /** A dense head's loss parts (classification, boxRegression; out, aux), each summed like lossSum. */
  readonly parts: Readonly<Record<string, number>>;
}

/** What a batch is trained against: a classifier's labels, or a detector's or segmenter's targets. */
export type BatchTargets = Int32Array | DenseTargets;

/** Sums over evaluated images: cross-entropy, the number classified correctly, and the images. */
export interface Evaluation {
  readonly lossSum: number;
  readonly correct: number;
  readonly count: number;
}

/**
 * One copy of the model being trained, with its optimiser. Data-parallel training keeps one replica per thread:
 * each computes gradients on its share of a batch, the shares are averaged, and every replica applies the same
 * update, so their trainable weights stay bit-identical (BatchNorm statistics follow each replica's own share,
 * as in PyTorch's DistributedDataParallel; the first replica's are the ones saved).
 */
export class Replica {
  readonly model: tf.LayersModel;
  private readonly variables: tf.Variable[];
  readonly optimizer: Optimizer;
  readonly trainableSize: number;

  /** `freeze` names layers (see frozenLayers) whose weights stay as they are, their BatchNorm in inference mode. */
  constructor(graph: AnalyzedGraph, optimizer: OptimizerConfig, freeze: readonly string[] = []) {
    // Every weight is set before use: by initialise, from a checkpoint, or from the main replica.
    this.model = withoutRandomInit(() => buildModel(graph));
    const frozen = frozenLayers(this.model, freeze);
    freezeBatchNorm(this.model, frozen);
    this.variables = this.model.layers
      .filter((layer) => !frozen.has(layer.name))
      .flatMap((layer) => layer.trainableWeights.map((w) => w.read() as tf.Variable));
    this.trainableSize = this.variables.reduce((total, v) => total + v.size, 0);
    this.optimizer = new Optimizer(optimizer, this.variables);
  }

  /** Sets every weight from torchvision's initialisation, reproducible from the seed. */
  initialise(graph: AnalyzedGraph, seed: number): void {
    const torch = initialWeights(graph, seed);
    this.setWeights(weightSlots(graph).map((slot) => ({ name: slot.tfjsName, shape: slot.tfjsShape, data: toTfjs(slot, torch.get(slot.torchName)!.data) })));
  }

  /**
   * Gradients of the batch's loss with BatchNorm in training mode (updating its statistics): a classifier's mean
   * cross-entropy over its labels, or a detector's or segmenter's loss over its dense targets. `size` is the images'
   * height and width where the model's input size is open.
   */
  gradients(images: Float32Array, targets: BatchTargets, seed?: number, size?: { readonly height: number; readonly width: number }): GradientResult {
    const count = targets instanceof Int32Array ? targets.length : targetCount(targets);
    // An empty share (a batch of fewer images than replicas) has no loss to differentiate: its weight in the average
    // is zero, and running the model on it would fail (the wasm backend divides by the batch size) or give NaN.
    if (count === 0) return { gradients: new Float32Array(this.trainableSize), lossSum: 0, correct: 0, count: 0, parts: {} };
    const [height, width, channels] = this.model.inputs[0]!.shape.slice(1) as [number | null, number | null, number];
    if ((height === null || width === null) && !size) throw new Error('a batch for a model of an open input size must carry its size');
    const shape = [count, height ?? size!.height, width ?? size!.width, channels];
    // Dropout and drop path draw from the step's seed, so that a run repeats and resumes exactly.
    seedTrainingRandomness(seed);
    const result = tf.tidy(() => {
      const x = tf.tensor(images, shape);
      let sums: Record<string, tf.Scalar> = {};
      const { grads } = tf.variableGrads(() => {
        const outputs = [this.model.apply(x, { training: true })].flat() as tf.Tensor[];
        const { loss, sums: kept } = batchLoss(outputs, targets, count);
        sums = Object.fromEntries(Object.entries(kept).map(([name, sum]) => [name, tf.keep(sum)]));
        return loss;
      }, this.variables);
      const flat = tf.concat(this.variables.map((v) => grads[v.name]!.reshape([-1])));
      return { flat, sums };
    });
    seedTrainingRandomness(undefined);
    const gradients = result.flat.dataSync() as Float32Array;
    const sums = Object.fromEntries(Object.entries(result.sums).map(([name, sum]) => [name, sum.dataSync()[0]!]));
    tf.dispose([result.flat, ...Object.values(result.sums)]);
    const { loss: lossSum = 0, correct = 0, ...parts } = sums;
    return { gradients, lossSum, correct, count, parts };
  }

  /** Applies one optimiser step with flat gradients as `gradients` returns them. */
  apply(gradients: Float32Array, learningRate: number): void {
    let offset = 0;
    const parts = this.variables.map((v) => {
      const part = tf.tensor(gradients.subarray(offset, offset + v.size), v.shape);
      offset += v.size;
      return part;
    });
    this.optimizer.step(parts, learningRate);
    tf.dispose(parts);
  }

  /** Every weight, BatchNorm statistics included, by its weights-folder name. */
  weights(): NamedWeight[] {
    return modelWeights(this.model);
  }

  setWeights(weights: readonly NamedWeight[]): void {
    setModelWeights(this.model, new Map(weights.map((w) => [w.name, w])), 'the weights given');
  }

  /** Cross-entropy and correct classifications over batches in inference mode (BatchNorm's running statistics). */
  evaluate(batches: Iterable<{ images: Float32Array; labels: Int32Array }>): Evaluation {
    let lossSum = 0;
    let correct = 0;
    let count = 0;
    const classes = this.model.outputs[0]!.shape[1]!;
    for (const { images, labels } of batches) {
      const shape = [labels.length, ...(this.model.inputs[0]!.shape.slice(1) as number[])];
      const [loss, right] = tf.tidy(() => {
        const { losses, hits } = score(this.model.apply(tf.tensor(images, shape), { training: false }) as tf.Tensor2D, tf.tensor1d(labels, 'int32'), classes);
        return [losses.sum().dataSync()[0]!, hits.sum().dataSync()[0]!];
      });
      lossSum += loss;
      correct += right;
      count += labels.length;
    }
    return { lossSum, correct, count };
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }
}

/**
 * The loss to differentiate and the sums a step reports, each over the images (a mean times the count): `loss`, a
 * classifier's `correct`, and a dense head's loss parts by name.
 */
function batchLoss(outputs: readonly tf.Tensor[], targets: BatchTargets, count: number): { loss: tf.Scalar; sums: Record<string, tf.Scalar> } {
  if (targets instanceof Int32Array) {
    const logits = outputs[0] as tf.Tensor2D;
    const { losses, hits } = score(logits, tf.tensor1d(targets, 'int32'), logits.shape[1]);
    return { loss: losses.mean() as tf.Scalar, sums: { loss: losses.sum() as tf.Scalar, correct: hits.sum() as tf.Scalar } };
  }
  const { total, parts } = denseLoss(outputs, targets);
  const sums = Object.fromEntries(Object.entries(parts).map(([name, part]) => [name, part.mul(count) as tf.Scalar]));
  return { loss: total, sums: { loss: total.mul(count) as tf.Scalar, ...sums } };
}

/** Each image's cross-entropy and whether its highest logit is its label. */
function score(logits: tf.Tensor2D, labels: tf.Tensor1D, classes: number): { losses: tf.Tensor1D; hits: tf.Tensor1D } {
  const losses = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), logits, undefined, undefined, tf.Reduction.NONE) as tf.Tensor1D;
  return { losses, hits: tf.equal(logits.argMax(1), labels) as tf.Tensor1D };
}
