// The QDQ rewrite: an fp32 ONNX graph and calibrated activation ranges in, the same graph with int8 weights and
// quantise/dequantise pairs out, in the layout onnxruntime's static quantiser writes and its graph optimiser
// turns into integer kernels (QLinearConv, QLinearAdd, QGemm, int8 pools).
import onnxProto from 'onnx-proto';
import { InternalError } from '../errors/internal-error.js';
import { int } from '../ops/onnx.js';
import { activationInputs, readsQuantized, type QuantizationPlan } from './plan.js';
import type { Range } from './ranges.js';
import type { WeightBits } from './weight-bits.js';

const { onnx } = onnxProto;
type Model = InstanceType<typeof onnx.ModelProto>;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;
const DataType = onnx.TensorProto.DataType;

/** The activations' 8-bit type: uint8 (U8S8, with int8 weights) or int8 (S8S8). */
export type ActivationType = 'uint8' | 'int8';

const LIMITS = { uint8: [0, 255], int8: [-128, 127] } as const;
/**
 * The largest weight level: symmetric, so that −w quantises to −q exactly. With uint8 activations the weights may
 * keep 7 bits (onnxruntime's reduce_range; see weight-bits.ts).
 */
const weightMax = (type: ActivationType, bits: WeightBits) => (type === 'uint8' && bits === 7 ? 63 : 127);

export interface QuantParams {
  readonly scale: number;
  readonly zeroPoint: number;
}

/**
 * Affine parameters for a range, as onnxruntime computes them: the range widened to hold 0 (padding and ReLU's
 * zeros must be exact), scale = (max − min) / (qmax − qmin), zero point = round(qmin − min / scale).
 */
export function activationParams(range: Range, type: ActivationType): QuantParams {
  const [qmin, qmax] = LIMITS[type];
  const [min, max] = [Math.min(range.min, 0), Math.max(range.max, 0)];
  // An all-zero value: any scale represents it, with the zero point at 0.
  if (max === min) return { scale: 1, zeroPoint: 0 };
  const scale = Math.fround((max - min) / (qmax - qmin));
  return { scale, zeroPoint: Math.max(qmin, Math.min(qmax, Math.round(qmin - min / scale))) };
}

/** Symmetric per-output-channel int8 weights: scale max|w| / levels per channel (1 for an all-zero channel). */
export function quantizeWeights(data: Float32Array, channels: number, levels: number): { values: Int8Array; scales: Float32Array } {
  const perChannel = data.length / channels;
  const scales = new Float32Array(channels);
  const values = new Int8Array(data.length);
  for (let c = 0; c < channels; c++) {
    let largest = 0;
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++) largest = Math.max(largest, Math.abs(data[i]!));
    scales[c] = largest === 0 ? 1 : largest / levels;
    for (let i = c * perChannel; i < (c + 1) * perChannel; i++) values[i] = Math.max(-levels, Math.min(levels, Math.round(data[i]! / scales[c]!)));
  }
  return { values, scales };
}

const bytesOf = (array: Float32Array | Int8Array | Uint8Array | Int32Array) => new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
const tensor = (name: string, dims: readonly number[], dataType: number, data: Float32Array | Int8Array | Uint8Array | Int32Array): Tensor =>
  onnx.TensorProto.create({ name, dims: [...dims], dataType, rawData: bytesOf(data) });
const node = (opType: string, inputs: readonly string[], output: string, attribute = [] as ReturnType<typeof int>[]): Node =>
  onnx.NodeProto.create({ opType, name: output, input: [...inputs], output: [output], attribute });

/** An initialiser's float values, copied out of the protobuf's bytes (which need not be 4-byte aligned). */
function floatsOf(initializer: Tensor): Float32Array {
  if (initializer.dataType !== DataType.FLOAT || !initializer.rawData?.length) throw new InternalError(`${initializer.name} is not a raw float initialiser`);
  return new Float32Array(Uint8Array.from(initializer.rawData).buffer);
}

/**
 * Rewrites an fp32 model as a QDQ int8 model by its plan, with the activation ranges given for every value the
 * plan calibrates. The input and output names and shapes stay as they were, so the same wrapper runs either model.
 */
export function quantizeModel(model: Model, plan: QuantizationPlan, ranges: ReadonlyMap<string, Range>, type: ActivationType, bits: WeightBits): Model {
  const graph = model.graph!;
  const initializers = new Map(graph.initializer!.map((t) => [t.name!, t]));
  const params = new Map<string, QuantParams>();
  for (const name of plan.quantized) {
    const range = ranges.get(plan.inherits.get(name) ?? name);
    if (!range) throw new InternalError(`no calibrated range for ${name}`);
    params.set(name, activationParams(range, type));
  }
  const added: Tensor[] = [];
  const nodes: Node[] = [];
  const sink: WeightSink = { added, nodes, weights: new Map(), biases: new Set() };
  const dequantized = (name: string) => `${name}_dequantized`;
  const quantizePair = (name: string) => {
    const p = params.get(name)!;
    added.push(tensor(`${name}_scale`, [], DataType.FLOAT, Float32Array.of(p.scale)));
    added.push(
      type === 'uint8'
        ? tensor(`${name}_zero_point`, [], DataType.UINT8, Uint8Array.of(p.zeroPoint))
        : tensor(`${name}_zero_point`, [], DataType.INT8, Int8Array.of(p.zeroPoint)),
    );
    nodes.push(node('QuantizeLinear', [name, `${name}_scale`, `${name}_zero_point`], `${name}_quantized`));
    nodes.push(node('DequantizeLinear', [`${name}_quantized`, `${name}_scale`, `${name}_zero_point`], dequantized(name)));
  };
  for (const input of graph.input!) if (params.has(input.name!)) quantizePair(input.name!);
  const activationReads = (reader: Node, name: string) => params.has(name) && (plan.writtenQuantized.has(name) || readsQuantized(reader));
  for (const original of plan.nodes) {
    const inputs = original.input!.map((name) => (activationReads(original, name) ? dequantized(name) : name));
    if (original.opType === 'Conv' || original.opType === 'Gemm') {
      const scaleOfInput = params.get(activationInputs(original, new Set(initializers.keys()))[0]!)!.scale;
      inputs.splice(1, inputs.length - 1, ...weightInputs(original, initializers, scaleOfInput, weightMax(type, bits), sink));
    }
    nodes.push(onnx.NodeProto.create({ ...original, input: inputs }));
    // Every value with a range gets its pair where it is computed: a quantised node's output, or an fp32 node's read by one.
    if (params.has(original.output![0]!)) quantizePair(original.output![0]!);
  }
  const used = new Set(nodes.flatMap((n) => n.input!));
  const kept = graph.initializer!.filter((t) => used.has(t.name!));
  const quantizedGraph = onnx.GraphProto.create({ ...graph, node: nodes, initializer: [...kept, ...added] });
  return onnx.ModelProto.create({ ...model, graph: quantizedGraph });
}

/** What quantising weights appends to: initialisers, nodes, and each weight already quantised with its scales. */
interface WeightSink {
  readonly added: Tensor[];
  readonly nodes: Node[];
  readonly weights: Map<string, Float32Array>;
  /** Biases already quantised for some node: a later node's copy takes its own name. */
  readonly biases: Set<string>;
}

/**
 * A Conv's or Gemm's weight and bias as int8 and int32 initialisers behind DequantizeLinear nodes, per output
 * channel (axis 0: OIHW kernels and Gemm's transposed [out, in] weight). The bias's scale is the input's scale
 * times the weight's, so that the integer kernel adds it to its int32 sums unchanged. A weight shared by several
 * nodes (RetinaNet's towers, one node per level) is quantised once; its bias once per node, as each node's input has
 * its own scale.
 */
function weightInputs(conv: Node, initializers: ReadonlyMap<string, Tensor>, inputScale: number, levels: number, sink: WeightSink): string[] {
  const [, weightName, biasName] = conv.input!;
  const weight = initializers.get(weightName!);
  if (!weight) throw new InternalError(`${conv.name}'s weight ${weightName} is not an initialiser`);
  const channels = Number(weight.dims![0]);
  const axis = [int('axis', 0)];
  let scales = sink.weights.get(weightName!);
  if (!scales) {
    const quantized = quantizeWeights(floatsOf(weight), channels, levels);
    scales = quantized.scales;
    sink.weights.set(weightName!, scales);
    sink.added.push(tensor(`${weightName}_quantized`, weight.dims!.map(Number), DataType.INT8, quantized.values));
    sink.added.push(tensor(`${weightName}_scale`, [channels], DataType.FLOAT, scales));
    sink.added.push(tensor(`${weightName}_zero_point`, [channels], DataType.INT8, new Int8Array(channels)));
    sink.nodes.push(
      node('DequantizeLinear', [`${weightName}_quantized`, `${weightName}_scale`, `${weightName}_zero_point`], `${weightName}_dequantized`, axis),
    );
  }
  if (!biasName) return [`${weightName}_dequantized`];
  const bias = floatsOf(initializers.get(biasName)!);
  const biasScales = Float32Array.from(scales, (s) => inputScale * s);
  const int32 = Int32Array.from(bias, (b, c) => Math.max(-(2 ** 31) + 1, Math.min(2 ** 31 - 1, Math.round(b / biasScales[c]!))));
  const name = sink.biases.has(biasName) ? `${biasName}.${conv.name}` : biasName;
  sink.biases.add(biasName);
  sink.added.push(tensor(`${name}_quantized`, [channels], DataType.INT32, int32));
  sink.added.push(tensor(`${name}_scale`, [channels], DataType.FLOAT, biasScales));
  sink.added.push(tensor(`${name}_zero_point`, [channels], DataType.INT32, new Int32Array(channels)));
  sink.nodes.push(node('DequantizeLinear', [`${name}_quantized`, `${name}_scale`, `${name}_zero_point`], `${name}_dequantized`, axis));
  return [`${weightName}_dequantized`, `${name}_dequantized`];
}
