/** A small valid spec, one field per line so that a test names a line by number: 2 name, 3 input, 4 stem, 5 block, 6 stages, 7 head. */
export const baseLines = [
  '{',
  '  "name": "tiny",',
  '  "input": { "height": 32, "width": 32, "channels": 3 },',
  '  "stem": { "type": "conv", "width": 16, "kernelSize": 3, "stride": 1 },',
  '  "block": { "type": "basic" },',
  '  "stages": { "widths": [16, 32], "depths": [1, 1], "strides": [1, 2] },',
  '  "head": { "type": "classifier", "classes": 10 }',
  '}',
];

export const baseSpec = baseLines.join('\n');

/** The base spec with line `n` (1-based) replaced. */
export function withLine(n: number, line: string): string {
  return baseLines.map((original, i) => (i === n - 1 ? line : original)).join('\n');
}
