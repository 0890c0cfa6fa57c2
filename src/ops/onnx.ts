import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type Attribute = InstanceType<typeof onnx.AttributeProto>;

export const ints = (name: string, values: readonly number[]): Attribute =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: [...values] });
export const int = (name: string, value: number): Attribute => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.INT, i: value });
export const string = (name: string, value: string): Attribute =>
  onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.STRING, s: new TextEncoder().encode(value) });
export const float = (name: string, value: number): Attribute => onnx.AttributeProto.create({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: value });

/** What an op module sees of the ONNX graph being written: NCHW values, PyTorch-layout weights. */
export interface OnnxGraph {
  /** Appends a node with one output named `output`, and returns that name. */
  node(opType: string, output: string, inputs: readonly string[], attributes?: readonly Attribute[]): string;
  /** Adds a float initialiser named `name` and returns the name. */
  initializer(name: string, dims: readonly number[], data: Float32Array): string;
  /** Adds an int64 initialiser (a shape for Reshape) and returns its name. */
  int64Initializer(name: string, values: readonly number[]): string;
  /** The analysed shape of an op's value, by its name: [height, width, channels] or [features]. */
  shapeOf(op: string): readonly number[];
  /** Whether the input's height and width are open: a size read from a shape must then be read at run time. */
  readonly openSize: boolean;
  /** A weight by its PyTorch state-dict name. */
  weight(name: string): Float32Array;
}
