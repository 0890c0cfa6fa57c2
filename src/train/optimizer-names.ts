// The optimisers' names and the state each keeps, apart from the optimisers themselves (optimizer.ts), which need
// tfjs: the command line and the checkpoint reader check names before anything loads it.

export type OptimizerName = 'sgd' | 'adam';

export const optimizerNames: readonly OptimizerName[] = ['sgd', 'adam'];

/** The tensors each variable keeps, by torch.optim's names for them. */
export function slotNamesOf(name: OptimizerName): readonly string[] {
  return name === 'sgd' ? ['momentum'] : ['exp_avg', 'exp_avg_sq'];
}
