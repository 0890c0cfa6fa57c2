// The main job's last step: import the generated founding model, print its summary beside the shapes of the
// model tfjs actually built, and run a forward pass.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from 'netspec/runtime';
import * as resnet34 from '../generated/resnet34.ts';

const count = (n: number) => n.toLocaleString('en-US');

const backend = await initBackend({ log: (line) => console.log(line) });
const model = resnet34.createModel();

console.log(`\n${resnet34.name}: ${resnet34.description}\n`);
console.log(`${'layer'.padEnd(24)}${'op'.padEnd(15)}${'output (compiler)'.padEnd(19)}${'output (tfjs)'.padEnd(15)}${'params'.padStart(11)}`);
for (const layer of resnet34.layers) {
  const built = (model.getLayer(layer.name).outputShape as number[]).slice(1).join('×');
  const expected = layer.outputShape.join('×');
  const mark = built === expected ? '' : '  ← disagrees';
  console.log(`${layer.name.padEnd(24)}${layer.op.padEnd(15)}${expected.padEnd(19)}${built.padEnd(15)}${count(layer.params).padStart(11)}${mark}`);
}
const tfjsTotal = model.countParams();
console.log(`\ninput ${resnet34.inputShape.join('×')} → output ${resnet34.outputShape.join('×')}`);
console.log(
  `parameters: ${count(resnet34.params.trainable)} trainable + ${count(resnet34.params.nonTrainable)} BatchNorm statistics = ${count(resnet34.params.total)} (tfjs countParams: ${count(tfjsTotal)})`,
);
console.log(`multiply-accumulates per image: ${count(resnet34.macs)}`);

const batch = 8;
const images = tf.randomUniform([batch, ...resnet34.inputShape], 0, 1, 'float32', 42) as tf.Tensor4D;
resnet34.predict(model, images).dispose(); // warm-up: the first call compiles kernels
const started = performance.now();
const logits = resnet34.predict(model, images);
const probabilities = (await tf.softmax(logits).array()) as number[][];
const elapsed = performance.now() - started;
console.log(
  `\nforward pass on ${backend}: batch ${batch} in ${elapsed.toFixed(0)} ms (${(elapsed / batch).toFixed(1)} ms per image), logits ${logits.shape.join('×')}`,
);
console.log(`image 0 class probabilities (untrained weights): ${probabilities[0]!.map((p) => p.toFixed(3)).join(' ')}`);
const shapesAgree = resnet34.layers.every((l) => (model.getLayer(l.name).outputShape as number[]).slice(1).join() === l.outputShape.join());
if (!shapesAgree || tfjsTotal !== resnet34.params.total || !probabilities.flat().every(Number.isFinite)) {
  console.error('the built model disagrees with the compiler or produced non-finite values');
  process.exitCode = 1;
}
