// The computation the browser smoke test runs on the wasm backend in Chromium and on the cpu backend in Node:
// fixed data, one convolution, a ReLU and a sum. Shared so both sides compute exactly the same thing.
import type * as tfjs from '@tensorflow/tfjs';

type TF = typeof tfjs;

/** What the page reports back to the test. */
export interface SmokeResult {
  readonly backend: string;
  readonly crossOriginIsolated: boolean;
  readonly threads: number;
  readonly simd: boolean;
  readonly multithread: boolean;
  /** The .wasm files the page fetched, by name. */
  readonly wasmFiles: readonly string[];
  readonly values: readonly number[];
  readonly sum: number;
  /** Milliseconds per convolution of the timing loop (informational). */
  readonly msPerConv: number;
}

/** `count` values in [-1, 1), the same on every platform: a fixed linear congruential sequence. */
function fixed(count: number, seed: number): Float32Array {
  const out = new Float32Array(count);
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 31 - 1;
  }
  return out;
}

/** A 3×3 convolution, stride 1 and 2, 'same' and 'valid' padding, with bias and ReLU, and the sum of both. */
export function convCase(tf: TF): { values: number[]; sum: number } {
  return tf.tidy(() => {
    const input = tf.tensor4d(fixed(1 * 9 * 9 * 4, 1), [1, 9, 9, 4]);
    const filter = tf.tensor4d(fixed(3 * 3 * 4 * 6, 2), [3, 3, 4, 6]);
    const bias = tf.tensor1d(fixed(6, 3));
    const same = tf.relu(tf.add(tf.conv2d(input, filter, 1, 'same'), bias));
    const strided = tf.relu(tf.conv2d(input, filter, 2, 'valid'));
    const values = tf.concat([same.flatten(), strided.flatten()]);
    return { values: Array.from(values.dataSync()), sum: tf.sum(values).dataSync()[0]! };
  });
}

/** Milliseconds per run of a ResNet-sized 3×3 convolution (56×56×64 → 64), after a warm-up. */
export async function timeConv(tf: TF, runs: number): Promise<number> {
  const input = tf.tensor4d(fixed(56 * 56 * 64, 4), [1, 56, 56, 64]);
  const filter = tf.tensor4d(fixed(3 * 3 * 64 * 64, 5), [3, 3, 64, 64]);
  try {
    const once = async () => {
      const out = tf.conv2d(input, filter, 1, 'same');
      await out.data();
      out.dispose();
    };
    await once();
    const start = performance.now();
    for (let i = 0; i < runs; i++) await once();
    return (performance.now() - start) / runs;
  } finally {
    tf.dispose([input, filter]);
  }
}
