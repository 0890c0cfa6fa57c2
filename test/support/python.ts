// Whether Debian's Python has the modules a comparison with PyTorch needs, asked without importing them: importing
// torch takes seconds, and the comparisons import it anyway (a torch that is found but broken fails them loudly).
import { spawnSync } from 'node:child_process';

const FIND = 'import importlib.util, sys; sys.exit(0 if all(importlib.util.find_spec(m) for m in sys.argv[1:]) else 1)';

/** Whether `python` finds every one of `modules`. */
export function pythonHas(python: string, ...modules: string[]): boolean {
  return spawnSync(python, ['-c', FIND, ...modules], { stdio: 'ignore' }).status === 0;
}
