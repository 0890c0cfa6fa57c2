import onnxProto from 'onnx-proto';
import { assertNever, InternalError } from '../diagnostics.js';
import type { AnalyzedGraph } from '../ir/analyze.js';
import type { Op } from '../ir/graph.js';
import { batchNormAffine } from '../runtime/batchnorm-affine.js';
import { weightSlots } from '../weights/mapping.js';
import type { FloatTensor } from '../weights/safetensors.js';

const { onnx } = onnxProto;

/** The ONNX operator set the emitter targets, pinned so models run the same on every runtime version. */
export const OPSET = 17;
const IR_VERSION = 8;

type Attribute = InstanceType<typeof onnx.AttributeProto>;
type Node = InstanceType<typeof onnx.NodeProto>;

const ints = (name: string, values: readonly number[]): Attribute =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...values] });
const int = (name: string, value: number): Attribute => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
const float = (name: string, value: number): Attribute => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value });

/** An NCHW value description with a symbolic batch dimension. */
function valueInfo(name: string, shape: readonly number[]) {
  const chw = shape.length === 3 ? [shape[2]!, shape[0]!, shape[1]!] : [...shape];
  const dim = [{ dimParam: 'batch' }, ...chw.map((dimValue) => ({ dimValue }))];
  return onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } });
}

function initializer(name: string, dims: readonly number[], data: Float32Array) {
  return onnx.TensorProto.create({
    name,
    dims: [...dims],
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  });
}

/**
 * Renders an analysed graph as an ONNX model for inference: NCHW input `input` with a dynamic batch, one
 * output per model output (NCHW feature maps), PyTorch-layout weights (ONNX's own), BatchNorm folded into the
 * convolution before it, dropout dropped. `weights` maps PyTorch state-dict names to tensors.
 */
export function emitOnnx(graph: AnalyzedGraph, weights: ReadonlyMap<string, FloatTensor>): Uint8Array {
  const consumers = new Map<string, Op[]>();
  for (const op of graph.ops) for (const input of op.inputs) consumers.set(input, [...(consumers.get(input) ?? []), op]);
  const byName = new Map(graph.ops.map((op) => [op.name, op]));
  const torchShapes = new Map(weightSlots(graph).map((slot) => [slot.torchName, slot.torchShape]));
  const weight = (name: string): Float32Array => {
    const found = weights.get(name);
    if (!found) throw new InternalError(`no weight ${name}`);
    return found.data;
  };
  const exported = new Set(graph.outputs.map((o) => o.op));
  /** The ONNX value each op's output is known by: a folded BatchNorm is its convolution; dropout is its input. */
  const value = new Map<string, string>();
  const nodes: Node[] = [];
  const initializers: ReturnType<typeof initializer>[] = [];
  const node = (opType: string, name: string, inputs: string[], attribute: Attribute[] = []) => {
    nodes.push(onnx.NodeProto.create({ opType, name, input: inputs, output: [name], attribute }));
    value.set(name, name);
  };
  /** A convolution that feeds only the BatchNorm after it takes that BatchNorm's scale and shift. */
  const folded = (op: Op) => {
    const next = consumers.get(op.name) ?? [];
    return op.kind === 'conv2d' && next.length === 1 && next[0]!.kind === 'batchNorm' && !exported.has(op.name) ? next[0] : undefined;
  };

  for (const op of graph.ops) {
    const inputs = op.inputs.map((name) => value.get(name)!);
    switch (op.kind) {
      case 'input':
        value.set(op.name, 'input');
        break;
      case 'conv2d': {
        const bn = folded(op);
        const name = bn ? bn.name : op.name;
        const kernel = weight(`${op.name}.weight`);
        const perFilter = kernel.length / op.filters;
        let fusedKernel = kernel;
        const inputsOfNode = [inputs[0]!, `${name}.weight`];
        if (bn) {
          const [gamma, beta, mean, variance] = ['weight', 'bias', 'running_mean', 'running_var'].map((p) => weight(`${bn.name}.${p}`)) as Float32Array[];
          const { scale, shift } = batchNormAffine(gamma!, beta!, mean!, variance!, bn.epsilon);
          // Folded in double precision, rounded once: w·scale and the shift as the bias.
          fusedKernel = Float32Array.from(kernel, (w, i) => w * scale[Math.floor(i / perFilter)]!);
          const bias = Float32Array.from(shift);
          initializers.push(initializer(`${name}.bias`, [op.filters], bias));
          inputsOfNode.push(`${name}.bias`);
        }
        initializers.push(initializer(`${name}.weight`, torchShapes.get(`${op.name}.weight`)!, fusedKernel));
        const p = op.padding;
        node('Conv', name, inputsOfNode, [
          ints('kernel_shape', [op.kernelSize, op.kernelSize]),
          ints('strides', [op.stride, op.stride]),
          ints('pads', [p, p, p, p]),
          ints('dilations', [op.dilation, op.dilation]),
          int('group', op.groups),
        ]);
        break;
      }
      case 'batchNorm': {
        const producer = byName.get(op.inputs[0]!)!;
        if (folded(producer) === op) break;
        const params = ['weight', 'bias', 'running_mean', 'running_var'].map((p) => `${op.name}.${p}`);
        params.forEach((p) => initializers.push(initializer(p, [weight(p).length], weight(p))));
        node('BatchNormalization', op.name, [inputs[0]!, ...params], [float('epsilon', op.epsilon)]);
        break;
      }
      case 'relu':
        node('Relu', op.name, inputs);
        break;
      case 'add':
        node('Add', op.name, inputs);
        break;
      case 'maxPool':
        node('MaxPool', op.name, inputs, [ints('kernel_shape', [op.poolSize, op.poolSize]), ints('strides', [op.stride, op.stride]), ints('pads', [op.padding, op.padding, op.padding, op.padding])]);
        break;
      case 'avgPool':
        node('AveragePool', op.name, inputs, [ints('kernel_shape', [op.stride, op.stride]), ints('strides', [op.stride, op.stride]), int('ceil_mode', 1), int('count_include_pad', 0)]);
        break;
      case 'globalAvgPool':
        node('GlobalAveragePool', `${op.name}.pool`, inputs);
        node('Flatten', op.name, [`${op.name}.pool`], [int('axis', 1)]);
        break;
      case 'dropout':
        value.set(op.name, inputs[0]!);
        break;
      case 'dense':
        initializers.push(initializer(`${op.name}.weight`, [op.units, weight(`${op.name}.weight`).length / op.units], weight(`${op.name}.weight`)));
        initializers.push(initializer(`${op.name}.bias`, [op.units], weight(`${op.name}.bias`)));
        node('Gemm', op.name, [inputs[0]!, `${op.name}.weight`, `${op.name}.bias`], [int('transB', 1)]);
        break;
      default:
        assertNever(op);
    }
  }

  // Graph outputs carry the model's output names; Identity nodes give them those names.
  graph.outputs.forEach((output) => node('Identity', output.name, [value.get(output.op)!]));
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'netspec',
    graph: onnx.GraphProto.create({
      name: graph.name,
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', graph.inputShape)],
      output: graph.outputs.map((output, i) => valueInfo(output.name, graph.outputShapes[i]!)),
    }),
  });
  return onnx.ModelProto.encode(model).finish();
}
