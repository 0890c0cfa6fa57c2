// Segmentation scores: a confusion matrix worked by hand, and torchvision's reference formula (the confusion matrix
// of references/segmentation/utils.py: bincount over labelled pixels, then diag / sum, diag / row sums and
// diag / (row + column − diag) in float32) run live in PyTorch on random labels and predictions.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MetricsInputError } from '../src/metrics/input-error.js';
import { ConfusionMatrix, formatSegmentation, segmentationFigures, segmentationJson } from '../src/metrics/segmentation.js';
import { seededRandom } from './support/mutate.js';

const PYTHON = '/usr/bin/python3';

// Eleven pixels over three classes; 255 (ignore) and 7 (beyond the classes) are left out.
const LABELS = [0, 0, 0, 0, 1, 1, 1, 2, 2, 255, 7];
const PREDICTIONS = [0, 0, 1, 2, 1, 1, 0, 2, 1, 0, 1];

test('a hand-worked confusion matrix: pixel accuracy, per-class accuracy, IoU and mean IoU', () => {
  const matrix = new ConfusionMatrix(3);
  matrix.update(Uint8Array.from(LABELS), Uint8Array.from(PREDICTIONS));
  // Rows are labels, columns predictions:
  //   label 0: predicted 0, 0, 1, 2 → [2, 1, 1]
  //   label 1: predicted 1, 1, 0    → [1, 2, 0]
  //   label 2: predicted 2, 1       → [0, 1, 1]
  assert.equal([...matrix.counts], [2, 1, 1, 1, 2, 0, 0, 1, 1]);
  const figures = segmentationFigures(matrix);
  // Diagonal 2 + 2 + 1 = 5 of 9 pixels.
  assert.is(figures.pixels, 9);
  assert.is(figures.globalAccuracy, 5 / 9);
  // Rows 4, 3, 2: 2/4, 2/3, 1/2.
  assert.equal(figures.classAccuracy, [2 / 4, 2 / 3, 1 / 2]);
  // Columns 3, 4, 2: IoU 2/(4+3−2) = 2/5, 2/(3+4−2) = 2/5, 1/(2+2−1) = 1/3; mean (0.4 + 0.4 + 1/3)/3 = 0.3777….
  assert.equal(figures.iou, [2 / 5, 2 / 5, 1 / 3]);
  assert.is(figures.meanIoU, (2 / 5 + 2 / 5 + 1 / 3) / 3);
  assert.is(
    formatSegmentation(figures),
    "global correct: 55.6\naverage row correct: ['50.0', '66.7', '50.0']\nIoU: ['40.0', '40.0', '33.3']\nmean IoU: 37.8\n",
  );
});

test('a class absent from labels and predictions: NaN as torchvision has it, and the mean over the classes present', () => {
  // The same pixels over four classes: class 3 has row 0 and column 0, so accuracy 0/0 and IoU 0/0 are NaN, and
  // torchvision's mean over all four IoUs is NaN too. The mean over the three defined ones is 0.3777… as above.
  const matrix = new ConfusionMatrix(4);
  matrix.update(LABELS, PREDICTIONS);
  const figures = segmentationFigures(matrix);
  assert.ok(Number.isNaN(figures.iou[3]!) && Number.isNaN(figures.classAccuracy[3]!) && Number.isNaN(figures.meanIoU));
  assert.is(figures.meanIoUOfPresentClasses, (2 / 5 + 2 / 5 + 1 / 3) / 3);
  assert.is(
    formatSegmentation(figures),
    "global correct: 55.6\naverage row correct: ['50.0', '66.7', '50.0', 'nan']\nIoU: ['40.0', '40.0', '33.3', 'nan']\nmean IoU: nan\n",
  );
  const json = segmentationJson(figures, matrix);
  assert.equal(json.iou, [0.4, 0.4, 1 / 3, null]);
  assert.is(json.meanIoU, null);
  assert.equal(json.confusion, [
    [2, 1, 1, 0],
    [1, 2, 0, 0],
    [0, 1, 1, 0],
    [0, 0, 0, 0],
  ]);
});

test('a prediction outside the classes, or of another size than its label, is refused naming the image', () => {
  const matrix = new ConfusionMatrix(3);
  assert.throws(
    () => matrix.update([0, 1], [0, 3], 'masks/a.png'),
    (e: unknown) => e instanceof MetricsInputError && /masks\/a.png: pixel 1 is 3, not a class below 3/.test(e.message),
  );
  assert.throws(
    () => matrix.update([0, 1], [0], 'masks/b.png'),
    (e: unknown) => e instanceof MetricsInputError && /masks\/b.png has 1 pixels, its label 2/.test(e.message),
  );
  // A prediction under an ignored label is not looked at, as torchvision leaves it out before counting; and the
  // refused images above left nothing behind.
  matrix.update([255], [200]);
  assert.is(segmentationFigures(matrix).pixels, 0);
});

const REFERENCE = `
import json, sys, numpy as np, torch
folder, n, images = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
mat = torch.zeros((n, n), dtype=torch.int64)
for i in range(images):
    a = torch.from_numpy(np.fromfile(f"{folder}/label-{i}.bin", dtype=np.uint8).astype(np.int64))
    b = torch.from_numpy(np.fromfile(f"{folder}/prediction-{i}.bin", dtype=np.uint8).astype(np.int64))
    k = (a >= 0) & (a < n)
    mat += torch.bincount(n * a[k] + b[k], minlength=n * n).reshape(n, n)
h = mat.float()
acc_global = torch.diag(h).sum() / h.sum()
acc = torch.diag(h) / h.sum(1)
iu = torch.diag(h) / (h.sum(1) + h.sum(0) - torch.diag(h))
printed = "global correct: {:.1f}\\naverage row correct: {}\\nIoU: {}\\nmean IoU: {:.1f}".format(
    acc_global.item() * 100, ["{:.1f}".format(i) for i in (acc * 100).tolist()], ["{:.1f}".format(i) for i in (iu * 100).tolist()], iu.mean().item() * 100)
nan = lambda v: None if v != v else v
print(json.dumps({"mat": mat.tolist(), "global": acc_global.item(), "acc": [nan(v) for v in acc.tolist()], "iu": [nan(v) for v in iu.tolist()], "mean": nan(iu.mean().item()), "printed": printed}))
`;

test("torchvision's reference formula, run live, on random labels and predictions with ignored pixels", () => {
  const folder = mkdtempSync(join(tmpdir(), 'netspec-segmentation-'));
  try {
    const random = seededRandom(21);
    // Six classes, of which class 5 is never labelled and class 4 never predicted; 255 and 9 in the labels.
    const classes = 6;
    const matrix = new ConfusionMatrix(classes);
    const images = 5;
    for (let i = 0; i < images; i++) {
      const pixels = 500 + random.int(3000);
      const labels = Uint8Array.from({ length: pixels }, () => (random.chance(0.1) ? 255 : random.chance(0.02) ? 9 : random.int(5)));
      // Right about half the time, else another class below 4 or the unlabelled class 5.
      const predictions = labels.map((label) => (label < 5 && random.chance(0.5) && label !== 4 ? label : random.chance(0.1) ? 5 : random.int(4)));
      writeFileSync(join(folder, `label-${i}.bin`), labels);
      writeFileSync(join(folder, `prediction-${i}.bin`), predictions);
      matrix.update(labels, predictions);
    }
    const run = spawnSync(PYTHON, ['-c', REFERENCE, folder, String(classes), String(images)], { encoding: 'utf8' });
    assert.is(run.status, 0, run.stderr);
    const reference = JSON.parse(run.stdout) as {
      mat: number[][];
      global: number;
      acc: (number | null)[];
      iu: (number | null)[];
      mean: number | null;
      printed: string;
    };
    const figures = segmentationFigures(matrix);
    assert.equal(segmentationJson(figures, matrix).confusion, reference.mat);
    // torchvision's float32 against the exact ratios: within float32 rounding.
    const near = (ours: number, theirs: number | null, what: string) =>
      assert.ok(theirs === null ? Number.isNaN(ours) : Math.abs(ours - theirs) <= 1e-7 * Math.max(1, Math.abs(theirs)), `${what}: ${ours} against ${theirs}`);
    near(figures.globalAccuracy, reference.global, 'global accuracy');
    figures.classAccuracy.forEach((v, c) => near(v, reference.acc[c]!, `accuracy of class ${c}`));
    figures.iou.forEach((v, c) => near(v, reference.iu[c]!, `IoU of class ${c}`));
    near(figures.meanIoU, reference.mean, 'mean IoU');
    // Class 5, predicted but never labelled: row accuracy 0/0 (NaN), IoU 0; class 4, never predicted: both 0.
    assert.equal([reference.acc[5], reference.iu[5], reference.acc[4], reference.iu[4]], [null, 0, 0, 0]);
    assert.is(formatSegmentation(figures), `${reference.printed}\n`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

test.run();
