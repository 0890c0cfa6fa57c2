/**
 * The compiler's intermediate representation: a list of named ops in execution order. Names follow
 * torchvision's module names (`conv1`, `layer2.0.downsample.0`, `fc`), so they double as weight keys.
 * The union is closed: every consumer switches on `kind` exhaustively.
 */
export type Op = InputOp | Conv2dOp | BatchNormOp | ReluOp | AddOp | MaxPoolOp | GlobalAvgPoolOp | DenseOp;

export type OpKind = Op['kind'];

interface OpBase {
  readonly name: string;
  /** Names of the ops whose outputs this op consumes. */
  readonly inputs: readonly string[];
}

export interface InputOp extends OpBase {
  readonly kind: 'input';
  readonly shape: readonly [height: number, width: number, channels: number];
}

/** A convolution without bias, zero-padded symmetrically by `padding` pixels on every side, as in PyTorch. */
export interface Conv2dOp extends OpBase {
  readonly kind: 'conv2d';
  readonly filters: number;
  readonly kernelSize: number;
  readonly stride: number;
  readonly padding: number;
}

/** BatchNorm over channels; `momentum` in PyTorch's convention (weight of the new batch statistic). */
export interface BatchNormOp extends OpBase {
  readonly kind: 'batchNorm';
  readonly epsilon: number;
  readonly momentum: number;
}

export interface ReluOp extends OpBase {
  readonly kind: 'relu';
}

export interface AddOp extends OpBase {
  readonly kind: 'add';
}

/** Max-pooling with symmetric padding; lowering only places it after a ReLU, so zero padding equals PyTorch's −∞ padding. */
export interface MaxPoolOp extends OpBase {
  readonly kind: 'maxPool';
  readonly poolSize: number;
  readonly stride: number;
  readonly padding: number;
}

export interface GlobalAvgPoolOp extends OpBase {
  readonly kind: 'globalAvgPool';
}

/** A fully connected layer with bias. */
export interface DenseOp extends OpBase {
  readonly kind: 'dense';
  readonly units: number;
}

export interface Graph {
  readonly name: string;
  readonly description: string;
  readonly source: { readonly path: string; readonly sha256: string };
  readonly ops: readonly Op[];
  /** The op whose output is the model's output. */
  readonly output: string;
}
