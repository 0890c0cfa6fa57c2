/** The sides an open-size model takes: multiples of `multiple` from `minimum` to `maximum`, height and width alike. */
export interface OpenSizes {
  readonly minimum: number;
  readonly maximum: number;
  readonly multiple: number;
}

/** Throws, naming the model and the sides it takes, unless `height` and `width` are both among them. */
export function checkOpenSize(model: string, height: number, width: number, sizes: OpenSizes): void {
  const takes = (side: number) => Number.isInteger(side) && side >= sizes.minimum && side <= sizes.maximum && side % sizes.multiple === 0;
  if (!takes(height) || !takes(width))
    throw new Error(
      `${model} takes heights and widths that are multiples of ${sizes.multiple} from ${sizes.minimum} to ${sizes.maximum}, got ${height}×${width}`,
    );
}
