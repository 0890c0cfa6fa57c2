import type { Graph, Op } from '../ir/graph.js';

/**
 * The names `forward` gives its values, after what they hold, as torchvision's own forwards read: `x` for the main
 * path, `out` and `identity` inside a residual block (`preact` for a pre-activation both read), `c2`…`c5` for stage
 * outputs a neck or head reads later, `last_inner`, `inner_lateral`, `inner_top_down` and `p3`…`p7` in an FPN,
 * `branch0`… for ASPP's parallel branches, `images` for an input read again at the end. A name is reused once the
 * value holding it is dead, so an eval pass keeps only what it still needs; a name still held by a live value gets
 * a numbered suffix instead. The model's outputs keep their own names (lower-cased).
 */
export function forwardValueNames(graph: Graph): ReadonlyMap<string, string> {
  const { ops } = graph;
  const lastRead = new Map<string, number>();
  ops.forEach((op, i) => op.inputs.forEach((name) => lastRead.set(name, i)));
  const outputs = new Map(graph.outputs.length > 1 ? graph.outputs.map((output) => [output.op, output.name.toLowerCase()]) : []);
  for (const op of outputs.keys()) lastRead.set(op, Infinity);
  const preferred = preferredNames(ops, lastRead);
  const holder = new Map<string, string>();
  const names = new Map<string, string>();
  ops.forEach((op, i) => {
    const base = outputs.get(op.name) ?? preferred.get(op.name)!;
    const isFree = (name: string) => {
      const held = holder.get(name);
      return held === undefined || (lastRead.get(held) ?? -1) <= i;
    };
    let name = base;
    for (let n = 2; !isFree(name); n++) name = `${base}_${n}`;
    holder.set(name, op.name);
    names.set(op.name, name);
  });
  return names;
}

/** A residual block's prefix (`layer2.3`, `backbone.body.layer2.3`) and stage number, or undefined outside blocks. */
function blockOf(name: string): { readonly prefix: string; readonly stage: number } | undefined {
  const match = /^((?:.*\.)?layer(\d+)\.\d+)\./.exec(name);
  return match ? { prefix: match[1]!, stage: Number(match[2]) } : undefined;
}

/** Each op's name by its role, before liveness is considered. */
function preferredNames(ops: readonly Op[], lastRead: ReadonlyMap<string, number>): Map<string, string> {
  const readers = new Map<string, Op[]>();
  for (const op of ops) for (const input of op.inputs) readers.set(input, [...(readers.get(input) ?? []), op]);
  const blockOutput = new Map<string, string>();
  for (const op of ops) {
    const block = blockOf(op.name);
    if (block) blockOutput.set(block.prefix, op.name);
  }
  const stageOutputs = keptStageOutputs([...blockOutput.values()], ops, lastRead);
  const fpnLevels = pyramidLevels(ops);
  const names = new Map<string, string>();
  for (const op of ops) {
    const block = blockOf(op.name);
    const segments = op.name.split('.');
    const after = (segment: string) => segments[segments.indexOf(segment) + 1];
    let name = 'x';
    if (op.kind === 'input') name = (readers.get(op.name)?.length ?? 0) > 1 ? 'images' : 'x';
    else if (segments.includes('downsample')) name = 'identity';
    else if (block && blockOutput.get(block.prefix) === op.name) name = stageOutputs.get(op.name) ?? 'x';
    else if (block) name = readers.get(op.name)?.some((reader) => reader.name.includes('.downsample.')) ? 'preact' : 'out';
    else if (segments.includes('layer_blocks')) name = `p${fpnLevels.get(after('layer_blocks')!) ?? ''}`;
    else if (segments.includes('inner_blocks')) name = after('inner_blocks') === String(fpnLevels.size - 1) ? 'last_inner' : 'inner_lateral';
    else if (segments.includes('top_down')) name = 'inner_top_down';
    else if (segments.includes('merge')) name = 'last_inner';
    else if (segments.includes('extra_blocks')) name = extraLevelName(after('extra_blocks')!);
    else if (segments.includes('convs')) name = `branch${after('convs')}`;
    names.set(op.name, name);
  }
  return names;
}

/**
 * Stage outputs that stay alive past the next stage's output, because a neck or head reads them later, named
 * `c<stage + 1>` as FPN numbers them (layer1's output is C2).
 */
function keptStageOutputs(blockOutputs: readonly string[], ops: readonly Op[], lastRead: ReadonlyMap<string, number>): Map<string, string> {
  const index = new Map(ops.map((op, i) => [op.name, i]));
  const stageOutput = new Map<number, string>();
  for (const name of blockOutputs) stageOutput.set(blockOf(name)!.stage, name);
  const kept = new Map<string, string>();
  for (const [stage, name] of stageOutput) {
    const next = stageOutput.get(stage + 1);
    if (next !== undefined && (lastRead.get(name) ?? -1) > index.get(next)!) kept.set(name, `c${stage + 1}`);
  }
  return kept;
}

/** An FPN's levels by the index of its inner block: the level of the stage each inner block reads (layer2 → 3). */
function pyramidLevels(ops: readonly Op[]): Map<string, number> {
  const levels = new Map<string, number>();
  for (const op of ops) {
    const match = /\.inner_blocks\.(\d+)\.0$/.exec(op.name);
    const stage = match ? blockOf(op.inputs[0]!)?.stage : undefined;
    if (match && stage !== undefined) levels.set(match[1]!, stage + 1);
  }
  return levels;
}

/** The extra levels' values: `p6`, `p7`, the ReLU between them, and LastLevelMaxPool's `pool`. */
const extraLevelName = (segment: string): string => (segment === 'relu' ? 'p6_relu' : segment);
