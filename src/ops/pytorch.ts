/**
 * How an op module writes its PyTorch form. Arguments are compiler-made numbers and booleans, never user text, so
 * they need no escaping.
 */

export type PythonValue = number | boolean;

/** A Python literal of a compiler-made value. */
export function pythonValue(value: PythonValue): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (!Number.isFinite(value)) throw new Error(`${value} has no Python literal`);
  return String(value);
}

/** `callee(a, b, key=c)`, leaving out keyword arguments that are undefined. */
export function pythonCall(callee: string, args: readonly PythonValue[], keywords: Readonly<Record<string, PythonValue | undefined>> = {}): string {
  const named = Object.entries(keywords).flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${pythonValue(value)}`]));
  return `${callee}(${[...args.map(pythonValue), ...named].join(', ')})`;
}

/** A Python definition (a helper function or class) that an op's module or expression uses; emitted once per file. */
export interface PythonDefinition {
  readonly name: string;
  readonly source: readonly string[];
}

/**
 * An op's PyTorch form: either an `nn.Module` that holds its weights under their PyTorch names and is called on its
 * input, or, for an op without weights or state, an expression over its inputs.
 */
export type PytorchForm<O> =
  | { readonly module: (op: O, inputs: readonly (readonly number[])[]) => string; readonly uses?: Uses<O> }
  | { readonly expression: (op: O, inputs: readonly string[]) => string; readonly uses?: Uses<O> };

/** The definitions a form uses: always the same, or chosen by the op. */
export type Uses<O> = readonly PythonDefinition[] | ((op: O) => readonly PythonDefinition[]);
