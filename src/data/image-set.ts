/** Labelled images in memory, as every dataset loads them and training and evaluation read them. */
export interface ImageSet {
  /** count × height × width × channels bytes, row-major, channels last. */
  readonly images: Uint8Array;
  /** One class index per image, each below `classes`. */
  readonly labels: Uint8Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly classes: number;
}
