// `netspec verify`: one command that runs a spec's model with the user's weights on every target available here and
// says whether they agree, and where they part.
import { initBackend } from '../runtime/backends/node.js';
import { type TargetReport, VERIFY_TOLERANCE, verifyModel } from '../evaluate/verify.js';
import { defineCommand, UsageError } from './command-line.js';
import { graphForOneSize, ONE_SIZE_OPTION } from './input-size.js';
import { analyzeSpecFile } from './print-diagnostics.js';
import { readUserWeights } from './user-weights.js';

export const command = defineCommand({
  name: 'verify',
  summary: "Run a spec's model with your weights on every target here and compare them",
  forms: [{ args: '<spec.json>' }],
  description: `Runs the same seeded images through the TensorFlow.js model (the reference), the optimised tfjs path, the
ONNX export on onnxruntime (when onnxruntime-node is installed) and the PyTorch module that 'compile --target
pytorch' writes (when NETSPEC_PYTHON, else python3, imports torch), all with the weights folder's weights. For each
target it prints the largest difference of each output relative to the reference's largest value; targets agree
within ${VERIFY_TOLERANCE}. Where the PyTorch module parts from the reference, it names the first layer, in execution order,
whose output differs. Exits 1 when a target that ran disagrees.`,
  options: {
    weights: { type: 'string', arg: 'DIR', required: true, help: 'The weights folder to verify' },
    images: { type: 'number', arg: 'N', default: 2, min: 1, max: 16, integer: true, help: 'Seeded images to run' },
    seed: { type: 'number', arg: 'N', default: 0, min: 0, max: 2 ** 32 - 1, integer: true, help: 'Seed of the images' },
    json: { type: 'boolean', help: 'Print the reports as JSON' },
    ...ONE_SIZE_OPTION,
  },
  run: async ({ values, positionals }) => {
    const [spec, ...extra] = positionals;
    if (!spec || extra.length > 0) throw new UsageError('verify takes one spec');
    if (values.weights === undefined) throw new UsageError('verify needs --weights DIR');
    const graph = graphForOneSize(analyzeSpecFile(spec, 'inference'), values.size, 'verify');
    const folder = await readUserWeights(values.weights);
    await initBackend({ log: () => {} });
    const reports = await verifyModel(graph, folder, { count: values.images, seed: values.seed });
    process.stdout.write(
      values.json ? `${JSON.stringify({ model: graph.name, tolerance: VERIFY_TOLERANCE, targets: reports }, null, 2)}\n` : reportText(reports),
    );
    return reports.some((report) => !agrees(report)) ? 1 : 0;
  },
});

const agrees = (report: TargetReport) => report.skipped !== undefined || report.outputs.every((o) => o.relative <= VERIFY_TOLERANCE);

/** One line per target and output: the relative difference and whether it is within the tolerance. */
function reportText(reports: readonly TargetReport[]): string {
  const lines: string[] = [];
  for (const report of reports) {
    if (report.skipped !== undefined) {
      lines.push(`${report.target}: skipped (${report.skipped})`);
      continue;
    }
    lines.push(`${report.target}: ${agrees(report) ? 'agrees' : 'DIFFERS'}`);
    for (const { output, relative } of report.outputs) lines.push(`  ${output}: max |Δ| / max |reference| ${relative.toExponential(1)}`);
    if (report.firstDiffering) lines.push(`  first layer that differs: ${report.firstDiffering.layer} (${report.firstDiffering.relative.toExponential(1)})`);
  }
  return `${lines.join('\n')}\n`;
}
