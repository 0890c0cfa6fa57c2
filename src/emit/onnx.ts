import onnxProto from 'onnx-proto';
import { InternalError } from '../errors/internal-error.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import { fuseForInference } from '../ir/fuse.js';
import { definitionOf } from '../ops/index.js';
import type { OnnxGraph } from '../ops/onnx.js';
import { INPUT_SIDE, sameSide } from '../ops/side-formula.js';
import { channelsFirst, shapeFormula } from '../ir/shape-formulas.js';

const { onnx } = onnxProto;

/** The ONNX operator set the emitter targets, pinned so models run the same on every runtime version. */
export const OPSET = 17;
const IR_VERSION = 8;

type Tensor = InstanceType<typeof onnx.TensorProto>;
type Node = InstanceType<typeof onnx.NodeProto>;

type Dim = { dimValue: number } | { dimParam: string };

/** An NCHW value description with a symbolic batch dimension. */
function valueInfo(name: string, shape: readonly Dim[]) {
  const dim = [{ dimParam: 'batch' }, ...channelsFirst(shape)];
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } });
}

/**
 * Layer `index`'s dimensions as ONNX declares them: numbers, or for an open size symbols for those that depend on
 * it — `height` and `width` where they equal the input's, else prefixed with the value's name.
 */
function declaredDims(graph: AnalyzedGraph, index: number, name: string): Dim[] {
  if (!graph.sizes) return graph.layers[index]!.outputShape.map((dimValue) => ({ dimValue }));
  return shapeFormula(graph, index).map((dim) => {
    if (dim.kind === 'fixed') return { dimValue: dim.value };
    if (dim.kind === 'locations') return { dimParam: `${name}_locations` };
    return { dimParam: sameSide(dim.side, INPUT_SIDE) ? dim.kind : `${name}_${dim.kind}` };
  });
}

function floatTensor(name: string, dims: readonly number[], data: Float32Array): Tensor {
  return onnx.TensorProto.create({
    name,
    dims: [...dims],
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

/**
 * Renders an analysed graph as an ONNX model for inference: NCHW input `input` with a dynamic batch, one
 * output per model output (NCHW feature maps), PyTorch-layout weights (ONNX's own), and the inference pass's
 * folding (BatchNorm into the convolution before it, dropout dropped). `weights` maps PyTorch state-dict names to
 * tensors; `metadata` (the input normalisation and class names of a trained model) goes into metadata_props. Each
 * step's nodes are its op module's.
 */
export function emitOnnx(
  graph: AnalyzedGraph,
  weights: ReadonlyMap<string, { readonly data: Float32Array }>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  const fused = fuseForInference(graph);
  const index = new Map(graph.layers.map((layer, i) => [layer.op.name, i]));
  const nodes: Node[] = [];
  const initializers: Tensor[] = [];
  const onnxGraph: OnnxGraph = {
    node: (opType, output, inputs, attribute = []) => {
      nodes.push(onnx.NodeProto.create({ opType, name: output, input: [...inputs], output: [output], attribute: [...attribute] }));
      return output;
    },
    initializer: (name, dims, data) => {
      initializers.push(floatTensor(name, dims, data));
      return name;
    },
    int64Initializer: (name, values) => {
      initializers.push(onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: [...values] }));
      return name;
    },
    openSize: graph.sizes !== undefined,
    shapeOf: (op) => {
      const found = graph.layers.find((layer) => layer.op.name === op);
      if (!found) throw new InternalError(`no op ${op}`);
      return found.outputShape;
    },
    weight: (name) => {
      const found = weights.get(name);
      if (!found) throw new InternalError(`no weight ${name}`);
      return found.data;
    },
  };
  /** The ONNX value each step's output is known by. */
  const value = new Map<string, string>([[fused.input, 'input']]);
  for (const step of fused.steps) {
    value.set(
      step.name,
      definitionOf(step.op).onnx(
        step,
        step.inputs.map((name) => value.get(name)!),
        onnxGraph,
      ),
    );
  }
  // Graph outputs carry the model's output names; Identity nodes give them those names.
  fused.outputs.forEach((output) => onnxGraph.node('Identity', output.name, [value.get(output.step)!]));
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'netspec',
    metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
    graph: onnx.GraphProto.create({
      name: graph.name,
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', declaredDims(graph, 0, 'input'))],
      output: graph.outputs.map((output) => valueInfo(output.name, declaredDims(graph, index.get(output.op)!, output.name))),
    }),
  });
  return onnx.ModelProto.encode(model).finish();
}
