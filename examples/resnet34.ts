// The main job's last step: import the generated founding model, summarise it, and run a forward pass.
import * as tf from '@tensorflow/tfjs';
import { initBackend } from 'netspec/runtime';
import * as resnet34 from '../generated/resnet34.ts';

const count = (n: number) => n.toLocaleString('en-US');

const backend = await initBackend({ log: (line) => console.log(line) });
const model = resnet34.createModel();
const stages = ['layer1.2.relu2', 'layer2.3.relu2', 'layer3.5.relu2', 'layer4.2.relu2'] as const satisfies readonly resnet34.LayerName[];

console.log(`\n${resnet34.name}: ${resnet34.description}`);
console.log(`input ${resnet34.inputShape.join('×')} → output ${resnet34.outputShape.join('×')}`);
for (const stage of stages) {
  const shape = model.getLayer(stage).outputShape as number[];
  console.log(`  ${stage.padEnd(16)} ${shape.slice(1).join('×')}`);
}
const tfjsTotal = model.countParams();
console.log(`parameters: ${count(resnet34.params.trainable)} trainable + ${count(resnet34.params.nonTrainable)} BatchNorm statistics = ${count(resnet34.params.total)} (tfjs countParams: ${count(tfjsTotal)})`);
console.log(`multiply-accumulates per image: ${count(resnet34.macs)}`);

const batch = 8;
const images = tf.randomUniform([batch, ...resnet34.inputShape], 0, 1, 'float32', 42) as tf.Tensor4D;
resnet34.predict(model, images).dispose(); // warm-up: the first call compiles kernels
const started = performance.now();
const logits = resnet34.predict(model, images);
const probabilities = tf.softmax(logits);
const values = await probabilities.array();
const elapsed = performance.now() - started;
console.log(`\nforward pass on ${backend}: batch ${batch} in ${elapsed.toFixed(0)} ms (${(elapsed / batch).toFixed(1)} ms per image), logits ${logits.shape.join('×')}`);
console.log(`image 0 class probabilities (untrained weights): ${values[0]!.map((p) => p.toFixed(3)).join(' ')}`);
if (tfjsTotal !== resnet34.params.total || !values.flat().every(Number.isFinite)) {
  console.error('the model disagrees with its analysis or produced non-finite values');
  process.exitCode = 1;
}
