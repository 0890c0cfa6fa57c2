import * as tf from '@tensorflow/tfjs';
import type { OptimizerName } from './optimizer-names.js';

export type { OptimizerName } from './optimizer-names.js';

export interface OptimizerConfig {
  readonly name: OptimizerName;
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  /** Adam's β₁ and β₂, and ε. */
  readonly betas: readonly [number, number];
  readonly epsilon: number;
}

/**
 * SGD (momentum, Nesterov) and Adam exactly as torch.optim computes them, weight decay included (added to the
 * gradient, as `weight_decay` does), with the learning rate given per step so that any schedule can drive it.
 * tfjs' own optimisers fix the learning rate at construction and have no weight decay.
 */
export class Optimizer {
  /** Per variable: SGD's momentum buffer, or Adam's first and second moments. */
  private slots: tf.Tensor[][];
  private steps = 0;

  constructor(
    private readonly config: OptimizerConfig,
    private readonly variables: readonly tf.Variable[],
  ) {
    this.slots = variables.map((v) => (config.name === 'sgd' ? [tf.zerosLike(v)] : [tf.zerosLike(v), tf.zerosLike(v)]));
  }

  /** Applies one step with the gradients of `variables`, in order. */
  step(gradients: readonly tf.Tensor[], learningRate: number): void {
    this.steps += 1;
    const { momentum, nesterov, weightDecay, betas, epsilon } = this.config;
    this.slots = tf
      .tidy(() =>
        this.variables.map((variable, i) => {
          let g = gradients[i]!;
          if (weightDecay !== 0) g = g.add(variable.mul(weightDecay));
          const slots = this.slots[i]!;
          if (this.config.name === 'sgd') {
            const buffer = slots[0]!.mul(momentum).add(g);
            const update = nesterov ? g.add(buffer.mul(momentum)) : buffer;
            variable.assign(variable.sub(update.mul(learningRate)));
            return [tf.keep(buffer)];
          }
          const [beta1, beta2] = betas;
          const first = slots[0]!.mul(beta1).add(g.mul(1 - beta1));
          const second = slots[1]!.mul(beta2).add(g.square().mul(1 - beta2));
          const firstCorrected = first.div(1 - beta1 ** this.steps);
          const denominator = second
            .div(1 - beta2 ** this.steps)
            .sqrt()
            .add(epsilon);
          variable.assign(variable.sub(firstCorrected.div(denominator).mul(learningRate)));
          return [tf.keep(first), tf.keep(second)];
        }),
      )
      .map((kept, i) => {
        tf.dispose(this.slots[i]);
        return kept;
      });
  }

  /** The step count and every slot's values, for a checkpoint. */
  state(): { steps: number; slots: Float32Array[][] } {
    return { steps: this.steps, slots: this.slots.map((slots) => slots.map((s) => s.dataSync() as Float32Array)) };
  }

  /** Why `state` (a checkpoint's) cannot be restored into this optimiser's variables, or undefined: a slot per variable of its size. */
  stateProblem(state: { steps: number; slots: readonly (readonly (Float32Array | undefined)[] | undefined)[] }): string | undefined {
    const perVariable = this.config.name === 'sgd' ? 1 : 2;
    if (state.slots.length !== this.variables.length)
      return `it holds the optimiser's slots of ${state.slots.length} variables; the model trains ${this.variables.length}`;
    const wrong = this.variables.findIndex((v, i) => state.slots[i]?.length !== perVariable || state.slots[i]!.some((slot) => slot?.length !== v.size));
    if (wrong >= 0)
      return `the optimiser's slots of variable ${wrong} (${this.variables[wrong]!.name}) are not ${perVariable} of its ${this.variables[wrong]!.size} values`;
    return undefined;
  }

  restore(state: { steps: number; slots: readonly (readonly Float32Array[])[] }): void {
    const next = this.variables.map((variable, i) => state.slots[i]!.map((values) => tf.tensor(values, variable.shape)));
    this.slots.forEach((slots) => tf.dispose(slots));
    this.slots = next;
    this.steps = state.steps;
  }

  dispose(): void {
    this.slots.forEach((slots) => tf.dispose(slots));
  }
}
