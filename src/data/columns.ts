// Typed arrays that grow as records are added, so that a dataset's annotations are kept as numbers rather than
// as one JavaScript object each (an object costs about ten times the bytes).

type TypedArray = Float64Array | Uint32Array | Uint8Array;

abstract class Column<T extends TypedArray> {
  private values: T;
  length = 0;

  constructor(private readonly create: (length: number) => T) {
    this.values = create(1024);
  }

  push(value: number): void {
    if (this.length === this.values.length) {
      const grown = this.create(2 * this.values.length);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = value;
  }

  /** The values pushed, in an array of their own length; the column is not used afterwards. */
  finish(): T {
    return this.values.slice(0, this.length) as T;
  }
}

export class Float64Column extends Column<Float64Array> {
  constructor() {
    super((length) => new Float64Array(length));
  }
}

export class Uint32Column extends Column<Uint32Array> {
  constructor() {
    super((length) => new Uint32Array(length));
  }
}

export class Uint8Column extends Column<Uint8Array> {
  constructor() {
    super((length) => new Uint8Array(length));
  }
}
