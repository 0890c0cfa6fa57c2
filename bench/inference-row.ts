// One runner of bench/inference.ts, in a process of its own so that its peak memory is its own: a timing peer
// (bench/peers.ts) that warms up and then times one inference per request.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendChoice } from '../src/runtime/backends/node.js';
import { createSession } from '../src/runtime/onnx/index.js';
import { optimizeForInference } from '../src/runtime/inference/optimize.js';
import type { InferencePlan } from '../src/runtime/inference/plan.js';
import { createInferencePool } from '../src/runtime/inference/pool.js';
import * as ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';
import { servePeer } from './peers.js';

interface Row {
  /** sgemm: the machine's practical limit, a 2048³ single-precision matrix product in onnxruntime. */
  readonly kind: 'tfjs-layers' | 'tfjs-optimised' | 'tfjs-pool' | 'onnxruntime' | 'sgemm';
  readonly backend?: BackendChoice;
  /** Generated module (tfjs kinds) or ONNX file (onnxruntime). */
  readonly model: string;
  readonly weights?: string;
  readonly shape: [number, number, number, number];
  readonly warmups: number;
}

const row = JSON.parse(process.argv[2]!) as Row;
const [batch, height, width, channels] = row.shape;
const images = new Float32Array(batch * height * width * channels).map((_, i) => Math.sin(i) * 0.5);
let run: () => Promise<void>;
let close = async () => {};

if (row.kind === 'sgemm') {
  const { onnx } = onnxProto;
  const n = 2048;
  const input = (name: string) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimValue: n }, { dimValue: n }] } } },
  });
  const bytes = onnx.ModelProto.encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    graph: { name: 'sgemm', node: [{ opType: 'MatMul', input: ['a', 'b'], output: ['c'] }], input: [input('a'), input('b')], output: [input('c')] },
  }).finish();
  const session = await createSession(bytes, { threads: 2, log: () => {} });
  const a = new ort.Tensor('float32', new Float32Array(n * n).fill(0.5), [n, n]);
  run = async () => {
    await session.run({ a, b: a });
  };
  close = () => session.release();
} else if (row.kind === 'onnxruntime') {
  const session = await createSession(row.model, { threads: 2, log: () => {} });
  // ONNX models take NCHW; the values do not matter for timing.
  const input = new ort.Tensor('float32', images, [batch, channels, height, width]);
  run = async () => {
    await session.run({ input });
  };
  close = () => session.release();
} else if (row.kind === 'tfjs-pool') {
  const pool = await createInferencePool({ module: row.model, ...(row.weights ? { weights: row.weights } : {}), workers: 2 });
  run = async () => {
    await pool.predict(images.slice(), row.shape);
  };
  close = () => pool.close();
} else {
  await initBackend({ backend: row.backend ?? 'wasm', log: () => {} });
  const generated = (await import(pathToFileURL(resolve(row.model)).href)) as {
    createModel(options?: { weights: string }): tf.LayersModel | Promise<tf.LayersModel>;
    inferencePlan: InferencePlan;
  };
  const model = await (row.weights ? generated.createModel({ weights: row.weights }) : generated.createModel());
  const x = tf.tensor4d(images, row.shape);
  const predict = row.kind === 'tfjs-optimised' ? optimizeForInference(model, generated.inferencePlan).predict : (input: tf.Tensor4D) => model.predict(input);
  run = async () => {
    const y = predict(x);
    await Promise.all((Array.isArray(y) ? y : [y]).map((t) => t.data()));
    tf.dispose(y);
  };
}

await servePeer(run, row.warmups, close);
