// The page of bench/browser.ts: generated resnet18 and resnet50 as a user's page imports them, on tfjs (one backend
// per page) or through their ONNX wrappers on onnxruntime-web, timed per image at batch 1.
import * as tf from '@tensorflow/tfjs';
import * as runtime from 'netspec/runtime';
import * as resnet18 from '../../generated/imagenet/resnet18.js';
import * as resnet50 from '../../generated/imagenet/resnet50.js';
import * as resnet18Onnx from '../../generated/imagenet/resnet18.onnx.js';
import * as resnet50Onnx from '../../generated/imagenet/resnet50.onnx.js';
import { timed } from './timing.js';

const models = { resnet18, resnet50 } as const;
const onnx = { resnet18: resnet18Onnx, resnet50: resnet50Onnx } as const;
export type BenchModel = keyof typeof models;

export interface Timing {
  readonly label: string;
  readonly msPerImage: number[];
}

async function tfjs(backend: 'wasm' | 'webgl', model: BenchModel, warmup: number, runs: number): Promise<Timing> {
  const log: string[] = [];
  await runtime.initBackend({ backend, wasmPaths: './', log: (line) => log.push(line) });
  const module = models[model];
  const built = await module.createModel({ weights: `weights/${model}/` });
  const x = tf.randomUniform([1, ...module.inputShape]) as tf.Tensor4D;
  const msPerImage = await timed(
    async () => {
      const y = module.predict(built, x);
      await y.data();
      y.dispose();
    },
    warmup,
    runs,
  );
  x.dispose();
  built.dispose();
  return { label: log.join(' '), msPerImage };
}

async function ort(model: BenchModel, warmup: number, runs: number): Promise<Timing> {
  const log: string[] = [];
  const session = await onnx[model].load(`${model}.onnx`, { wasmPaths: './', log: (line) => log.push(line) });
  const images = Float32Array.from({ length: 3 * 224 * 224 }, (_, i) => Math.sin(i));
  const msPerImage = await timed(
    async () => {
      await session.predict(images, 1);
    },
    warmup,
    runs,
  );
  await session.session.release();
  return { label: log.join(' '), msPerImage };
}

(globalThis as { __bench?: object }).__bench = { tfjs, ort };
