// Calibration: the fp32 model run in onnxruntime-node over the calibration images with the values to quantise
// exposed as extra graph outputs, each summarised as its extremes and, for the percentile method, a histogram of
// its magnitudes. Statistics are counts and extremes, so they do not depend on how the images are batched.
import onnxProto from 'onnx-proto';
import { createSession, runChecked, type OnnxSession } from '../runtime/onnx/index.js';
import { HISTOGRAM_BINS, type ValueStatistics } from './ranges.js';

const { onnx } = onnxProto;
type Model = InstanceType<typeof onnx.ModelProto>;

/** Images in NCHW floats, already resized and normalised as the model expects them. */
export interface CalibrationImages {
  readonly data: Float32Array;
  readonly count: number;
  /** One image's [channels, height, width]. */
  readonly shape: readonly [number, number, number];
}

/** Exposed values held at once per run: 2^26 floats (256 MiB) bounds calibration's memory whatever the model. */
const FLOATS_PER_RUN = 2 ** 26;
/** Calibration runs on a fixed thread count, so that its figures, and the quantised file, are the same on every machine. */
const CALIBRATION_THREADS = 2;

/**
 * Statistics of each named value over the images: the extremes always, magnitude histograms too when
 * `histograms` is set (a second pass over the images, binned up to the extremes the first found).
 */
export async function calibrate(
  model: Model,
  values: readonly string[],
  images: CalibrationImages,
  histograms: boolean,
): Promise<Map<string, ValueStatistics>> {
  const inputName = model.graph!.input![0]!.name!;
  const session = await createSession(
    exposing(
      model,
      values.filter((name) => name !== inputName),
    ),
    { threads: CALIBRATION_THREADS, log: () => {} },
  );
  try {
    const statistics = new Map(values.map((name) => [name, { min: Infinity, max: -Infinity } as ValueStatistics]));
    await eachRun(session, images, inputName, values, (name, data) => extend(statistics.get(name)!, data));
    if (histograms) {
      for (const s of statistics.values()) s.histogram = new Float64Array(HISTOGRAM_BINS);
      await eachRun(session, images, inputName, values, (name, data) => count(statistics.get(name)!, data));
    }
    return statistics;
  } finally {
    await session.release();
  }
}

/** The model with each named value also a graph output (float, shape left to the runtime). */
function exposing(model: Model, values: readonly string[]): Uint8Array {
  const outputs = values.map((name) => onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }));
  const graph = onnx.GraphProto.create({ ...model.graph!, output: [...model.graph!.output!, ...outputs] });
  return onnx.ModelProto.encode(onnx.ModelProto.create({ ...model, graph })).finish();
}

/**
 * Runs the images through the session, one image first to measure how many floats the exposed values take, then in
 * batches that keep them under FLOATS_PER_RUN, handing each value's data to `visit` (the input's from the feed).
 */
async function eachRun(
  session: OnnxSession,
  images: CalibrationImages,
  inputName: string,
  values: readonly string[],
  visit: (name: string, data: Float32Array) => void,
) {
  const perImage = images.shape.reduce((a, b) => a * b, 1);
  let batch = 1;
  for (let start = 0, size = 1; start < images.count; start += size) {
    size = Math.min(batch, images.count - start);
    const feed = images.data.subarray(start * perImage, (start + size) * perImage);
    const outputs = await runChecked(session, feed, size, images.shape);
    let floats = 0;
    for (const name of values) {
      const data = name === inputName ? feed : outputs[name]!.data;
      floats += data.length;
      visit(name, data);
    }
    if (start === 0) batch = Math.max(1, Math.floor(FLOATS_PER_RUN / floats));
  }
}

/** Widens the extremes to the data's; a NaN, which no comparison sees, makes both NaN so that it is not lost. */
function extend(statistics: ValueStatistics, data: Float32Array): void {
  let { min, max } = statistics;
  let nan = false;
  for (let i = 0; i < data.length; i++) {
    const x = data[i]!;
    if (x < min) min = x;
    if (x > max) max = x;
    if (Number.isNaN(x)) nan = true;
  }
  statistics.min = nan ? NaN : min;
  statistics.max = nan ? NaN : max;
}

/** Adds |x| to the histogram over [0, the largest magnitude seen], the top edge in the last bin. */
function count(statistics: ValueStatistics, data: Float32Array): void {
  const histogram = statistics.histogram!;
  const top = Math.max(Math.abs(statistics.min), Math.abs(statistics.max));
  if (top === 0) {
    histogram[0] = histogram[0]! + data.length;
    return;
  }
  const perUnit = HISTOGRAM_BINS / top;
  for (let i = 0; i < data.length; i++) histogram[Math.min(HISTOGRAM_BINS - 1, Math.floor(Math.abs(data[i]!) * perUnit))]! += 1;
}
