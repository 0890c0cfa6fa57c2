// Boxes that are kept though doubtful, counted into one warning line each kind: pycocotools keeps them as they are
// (an empty box matches nothing; one past its image still matches), so the evaluator must see them unchanged.

/**
 * The warning lines for boxes of zero or negative width or height and for boxes reaching past their image (an
 * image of size 0 is one whose size is not known, and is not checked), each naming the first such box.
 */
export function boxWarnings(
  file: string,
  boxes: Float64Array,
  imageOf: Uint32Array,
  widths: Uint32Array,
  heights: Uint32Array,
  describe: (box: number, image: number) => string,
): string[] {
  const empty: number[] = [];
  const outside: number[] = [];
  for (let k = 0; k < imageOf.length; k++) {
    const [x, y, w, h] = boxes.subarray(4 * k, 4 * k + 4) as unknown as [number, number, number, number];
    const image = imageOf[k]!;
    if (!(w > 0 && h > 0)) empty.push(k);
    else if (widths[image]! > 0 && (x < 0 || y < 0 || x + w > widths[image]! || y + h > heights[image]!)) outside.push(k);
  }
  const line = (found: number[], what: string, size: boolean) => {
    const k = found[0]!;
    const image = imageOf[k]!;
    const box = `[${Array.from(boxes.subarray(4 * k, 4 * k + 4)).join(', ')}]`;
    const inImage = size ? ` in a ${widths[image]}×${heights[image]} image` : '';
    return `${file}: ${found.length} box${found.length === 1 ? '' : 'es'} ${what} (the first: ${describe(k, image)}, ${box}${inImage}); kept as pycocotools keeps them`;
  };
  return [
    ...(empty.length > 0 ? [line(empty, 'of zero or negative width or height', false)] : []),
    ...(outside.length > 0 ? [line(outside, 'reaching past their image', true)] : []),
  ];
}
