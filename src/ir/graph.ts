/**
 * The compiler's intermediate representation: a list of named ops in execution order. Names follow
 * torchvision's module names (`conv1`, `layer2.0.downsample.0`, `fc`), so they double as weight keys.
 * The union is closed: every consumer switches on `kind` exhaustively.
 */
export type Op = InputOp | Conv2dOp | BatchNormOp | ReluOp | AddOp | MaxPoolOp | AvgPoolOp | GlobalAvgPoolOp | DropoutOp | DenseOp;

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
  readonly dilation: number;
  /** Input and output channels split into this many independent groups (ResNeXt). */
  readonly groups: number;
  /** Start with a zero kernel (the last convolution of a pre-activation block under zeroInitResidual). */
  readonly initZero: boolean;
}

/** BatchNorm over channels; `momentum` in PyTorch's convention (weight of the new batch statistic). */
export interface BatchNormOp extends OpBase {
  readonly kind: 'batchNorm';
  readonly epsilon: number;
  readonly momentum: number;
  /** Start with a zero scale, so the block it ends starts as the identity (zeroInitResidual). */
  readonly initZero: boolean;
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

/**
 * Average-pooling of `stride`×`stride` windows in PyTorch's ceil mode without counting padding, as ResNet-D's
 * shortcut pools: a partial last window averages only the pixels it covers.
 */
export interface AvgPoolOp extends OpBase {
  readonly kind: 'avgPool';
  readonly stride: number;
}

export interface GlobalAvgPoolOp extends OpBase {
  readonly kind: 'globalAvgPool';
}

/** Dropout, active only in training. */
export interface DropoutOp extends OpBase {
  readonly kind: 'dropout';
  readonly rate: number;
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
  /** The model's outputs in order: a name for each (`output` for a single-output model, else `C2`… and `logits`) and its op. */
  readonly outputs: readonly { readonly name: string; readonly op: string }[];
}
