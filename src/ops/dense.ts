import { int } from './onnx.js';
import { vector, vectorWeight, type OpBase, type OpDefinition } from './op.js';
import { pythonCall } from './pytorch.js';

/** A fully connected layer with bias. */
export interface DenseOp extends OpBase {
  readonly kind: 'dense';
  readonly units: number;
}

export const dense: OpDefinition<DenseOp> = {
  arity: 1,
  analyze: (op, [input]) => {
    const c = vector(op, input!.shape);
    return { outputShape: [op.units], trainable: c * op.units + op.units, nonTrainable: 0, macs: c * op.units };
  },
  weights: (op, [input]) => {
    const c = input![0]!;
    // nn.Linear's initialisation: weights and bias uniform in ±1/√fan_in.
    const init = { kind: 'uniform', bound: 1 / Math.sqrt(c) } as const;
    return [
      { torch: 'weight', torchShape: [op.units, c], tfjs: 'kernel', tfjsShape: [c, op.units], layout: 'linear', init },
      vectorWeight('bias', 'bias', op.units, init),
    ];
  },
  call: (op) => ({ helper: 'dense', options: { units: op.units } }),
  onnx: ({ op, name }, [input], graph) => {
    const weight = graph.weight(`${op.name}.weight`);
    const inputs = [
      input!,
      graph.initializer(`${op.name}.weight`, [op.units, weight.length / op.units], weight),
      graph.initializer(`${op.name}.bias`, [op.units], graph.weight(`${op.name}.bias`)),
    ];
    return graph.node('Gemm', name, inputs, [int('transB', 1)]);
  },
  // nn.Linear's own initialisation is the one declared above.
  pytorch: { module: (op, [input]) => pythonCall('nn.Linear', [input![0]!, op.units]) },
};
