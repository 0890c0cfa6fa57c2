import * as tf from '@tensorflow/tfjs';
import * as assert from 'uvu/assert';
import { analyzeAt, type AnalyzedGraph } from '../../src/ir/analyze.js';
import { shapeFormula } from '../../src/ir/shape-formulas.js';

/** What every generated module exports at run time. */
export interface GeneratedModule {
  createModel(): tf.LayersModel;
  predict(model: tf.LayersModel, x: tf.Tensor4D): tf.Tensor | Record<string, tf.Tensor>;
  /** A fixed size's shape, or for an open size a function of the height and width. */
  inputShape: readonly number[] | ((height: number, width: number) => readonly number[]);
  params: { trainable: number; nonTrainable: number; total: number };
}

/** Layer `index`'s shape as tfjs declares it without the batch: an open size's sides (and anchor counts) unknown. */
function declaredShape(graph: AnalyzedGraph, index: number): (number | null)[] {
  if (!graph.sizes) return [...graph.layers[index]!.outputShape];
  return shapeFormula(graph, index).map((dim) => (dim.kind === 'fixed' ? dim.value : null));
}

/** An admissible size to run an open-size model at: its smallest side, and the next one for the width. */
export function probeSize(graph: AnalyzedGraph): [number, number] {
  const sizes = graph.sizes!;
  return [sizes.minimum, Math.min(sizes.maximum, sizes.minimum + sizes.multiple)];
}

const size = (shape: readonly (number | null)[]) => shape.reduce<number>((a, b) => a * (b ?? 1), 1);
const weightCount = (weights: readonly tf.LayerVariable[]) => weights.reduce((total, w) => total + size(w.shape), 0);

/**
 * The compiler's central promise: the tfjs model equals the analysis in trainable and non-trainable parameters,
 * every named layer's output shape and every output's shape, and uses PyTorch's settings.
 */
export function assertModelMatchesAnalysis(model: tf.LayersModel, graph: AnalyzedGraph): void {
  assert.is(weightCount(model.trainableWeights), graph.params.trainable, 'trainable parameters');
  assert.is(weightCount(model.nonTrainableWeights), graph.params.nonTrainable, 'BatchNorm running statistics');
  assert.is(model.countParams(), graph.params.total);

  const analysed = new Set(graph.layers.map((layer) => layer.op.name));
  graph.layers.forEach((layer, i) => {
    assert.equal((model.getLayer(layer.op.name).outputShape as number[]).slice(1), declaredShape(graph, i), layer.op.name);
  });
  // The only layers the analysis does not list are the explicit paddings in front of strided ops, and the pooling
  // in front of a global pool that keeps a 1×1 map.
  for (const layer of model.layers.filter((l) => !analysed.has(l.name))) {
    assert.ok(['ZeroPadding2D', 'GlobalAveragePooling2D'].includes(layer.getClassName()), layer.name);
    assert.ok(analysed.has(layer.name.replace(/\.(pad|pool)$/, '')), layer.name);
  }
  const biased = new Set(graph.ops.flatMap((op) => (op.kind === 'conv2d' && op.bias ? [op.name] : [])));
  const index = new Map(graph.layers.map((layer, i) => [layer.op.name, i]));
  assert.equal(
    model.outputs.map((output) => output.shape.slice(1)),
    graph.outputs.map((output) => declaredShape(graph, index.get(output.op)!)),
    'model outputs',
  );
  for (const layer of model.layers) {
    const config = layer.getConfig();
    if (layer.getClassName() === 'Conv2D')
      assert.is(config.use_bias ?? config.useBias, biased.has(layer.name), `${layer.name} has a bias only where its op has one`);
    if (layer.getClassName() === 'BatchNormalization') {
      assert.is(config.epsilon, 1e-5, `${layer.name} epsilon`);
      assert.is(config.momentum, 0.9, `${layer.name} momentum (PyTorch 0.1)`);
    }
  }
}

/** Runs a batch through `predict` and checks each output's shape and that every value is finite. */
export async function assertForwardPass(generated: GeneratedModule, model: tf.LayersModel, graph: AnalyzedGraph, batch: number): Promise<void> {
  // An open size runs at a small admissible size, its figures the analysis at that size.
  const [height, width] = graph.sizes ? probeSize(graph) : [];
  const at = graph.sizes ? analyzeAt(graph, height!, width!) : graph;
  const inputShape = typeof generated.inputShape === 'function' ? generated.inputShape(height!, width!) : generated.inputShape;
  assert.equal([...inputShape], [...at.inputShape], "the module's input shape");
  const images = tf.randomNormal<tf.Rank>([batch, ...at.inputShape], 0, 1, 'float32', 7) as tf.Tensor4D;
  const result = generated.predict(model, images);
  images.dispose();
  const outputs = result instanceof tf.Tensor ? [result] : graph.outputs.map((o) => result[o.name]!);
  if (!(result instanceof tf.Tensor))
    assert.equal(
      Object.keys(result),
      graph.outputs.map((o) => o.name),
    );
  for (const [i, output] of outputs.entries()) {
    assert.equal(output.shape, [batch, ...at.outputShapes[i]!]);
    assert.ok((await output.data()).every(Number.isFinite), 'finite outputs');
    output.dispose();
  }
}
