// The two training engines side by side: netspec's trainer (tfjs on wasm, one replica and two) and the PyTorch
// engine (one process) train the same spec on the first N Fashion-MNIST images for one epoch of netspec train's
// default recipe, for several seeds; each run's test accuracy on the 10,000 test images, each engine's mean and
// spread over the seeds, and for each seed the gap between the engines, which start from the same weights and
// train on the same batches. Appends a section to bench/results.md.
//
//   tsx bench/engine-agreement.ts SPEC IMAGES SEEDS [ENGINES]
//   tsx bench/engine-agreement.ts specs/fashion/resnet20.json 6000 5 tfjs:1,tfjs:2,torch:1
import { execSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSpecFile } from '../src/project/compile-files.js';
import { loadFashionMnist } from '../src/data/fashion-mnist.js';
import { initBackend } from '../src/runtime/backends/node.js';
import { DEFAULT_CONFIG, type TrainConfig } from '../src/train/config.js';
import { trainWithTorch } from '../src/train/torch-engine.js';
import { train } from '../src/train/train.js';

const [spec = 'specs/fashion/resnet20.json', images = '6000', seedCount = '5', engineList = 'tfjs:1,tfjs:2,torch:1'] = process.argv.slice(2);
const engines = engineList.split(',');
const seeds = Array.from({ length: Number(seedCount) }, (_, i) => i);
await initBackend({ backend: 'wasm', log: () => {} });
const compiled = compileSpecFile(spec);
if (!compiled.ok) throw new Error(`${spec} does not compile`);
const { graph, pytorchModule } = compiled;
const data = loadFashionMnist();
const quiet = { step() {}, end() {} };

/** One run's test accuracy and seconds. */
async function runOnce(engine: string, seed: number): Promise<{ accuracy: number; seconds: number }> {
  const [kind, width] = engine.split(':') as [string, string];
  const out = mkdtempSync(join(tmpdir(), 'netspec-engines-bench-'));
  const config: TrainConfig = { ...DEFAULT_CONFIG, epochs: 1, trainLimit: Number(images), seed, replicas: kind === 'tfjs' ? Number(width) : 1 };
  const started = performance.now();
  try {
    const accuracy =
      kind === 'tfjs'
        ? (await train({ graph, data, config, out, backend: 'wasm', log: () => {}, progress: quiet })).testAccuracy
        : (
            await trainWithTorch({
              graph,
              module: pytorchModule,
              data,
              config,
              out,
              launch: { nproc: Number(width), nnodes: 1, nodeRank: 0 },
              log: () => {},
              progress: quiet,
            })
          ).testAccuracy!;
    return { accuracy, seconds: (performance.now() - started) / 1000 };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const accuracies = new Map<string, number[]>(engines.map((engine) => [engine, []]));
for (const seed of seeds) {
  for (const engine of engines) {
    const { accuracy, seconds } = await runOnce(engine, seed);
    accuracies.get(engine)!.push(accuracy);
    console.log(`${engine} seed ${seed}: ${(100 * accuracy).toFixed(2)}% in ${seconds.toFixed(0)} s`);
  }
}

const percent = (x: number) => (100 * x).toFixed(2);
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const spread = (xs: readonly number[]) => Math.sqrt(xs.reduce((s, x) => s + (x - mean(xs)) ** 2, 0) / Math.max(xs.length - 1, 1));
const label = (engine: string) => (engine.startsWith('tfjs') ? `tfjs, ${engine.slice(5)} replica(s)` : `torch, ${engine.slice(6)} process(es)`);
const cpu = execSync("lscpu | sed -n 's/^Model name: *//p'", { encoding: 'utf8' }).trim();
const flags = execSync("lscpu | sed -n 's/^Flags: *//p'", { encoding: 'utf8' }).trim();
const rows = engines.map((engine) => {
  const xs = accuracies.get(engine)!;
  return `| ${label(engine)} | ${xs.map(percent).join(' · ')} | ${percent(mean(xs))} | ${percent(spread(xs))} |`;
});
const [first, second] = [accuracies.get('tfjs:1'), accuracies.get('torch:1')];
const paired =
  first && second
    ? `\nSame seed, tfjs (1 replica) against torch (1 process), gap in points: ${seeds.map((s) => Math.abs(100 * (first[s]! - second[s]!)).toFixed(2)).join(' · ')}.\n`
    : '';
const section = `
## Training engines side by side: ${graph.name}, ${images} images (${new Date().toISOString().slice(0, 10)})

Machine: ${cpu}; flags: ${flags}.

One epoch of netspec train's default recipe (batch ${DEFAULT_CONFIG.batchSize}, SGD with Nesterov momentum,
one-cycle to ${DEFAULT_CONFIG.learningRate}, weight decay ${DEFAULT_CONFIG.optimizer.weightDecay}, no augmentation) on the first ${images}
Fashion-MNIST training images, test accuracy on all 10,000 test images, seeds ${seeds.join(', ')} (\`tsx bench/engine-agreement.ts ${spec} ${images} ${seedCount} ${engineList}\`).

| engine | test accuracy by seed (%) | mean | standard deviation |
| --- | --- | ---: | ---: |
${rows.join('\n')}
${paired}`;
appendFileSync('bench/results.md', section);
console.log(section);
