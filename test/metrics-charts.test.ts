// The metric charts: well-formed SVG with escaped names and no NaN, curves and bars placed where hand arithmetic on
// the documented layout puts them, and a panel that says so when a category has no ground truth.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { precisionRecallSvg, segmentationIouSvg } from '../src/metrics/charts.js';
import { evaluateCoco } from '../src/metrics/coco.js';
import { ConfusionMatrix, segmentationFigures } from '../src/metrics/segmentation.js';
import { wellFormedElements } from './support/xml.js';

const evaluation = evaluateCoco(
  {
    images: [{ id: 1 }],
    // Category 1: one object found exactly; category 2: nothing at all.
    annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 10, 10], area: 100, iscrowd: 0 }],
    categories: [
      { id: 1, name: 'cat & <dog>' },
      { id: 2, name: 'bird' },
    ],
  },
  [{ image_id: 1, category_id: 1, bbox: [0, 0, 10, 5], score: 0.9 }],
);

test('precision–recall: one panel per category, curves at IoU .50 and .75 over the 101 recall points', () => {
  const svg = precisionRecallSvg(evaluation, 'scores of "model"');
  assert.is(wellFormedElements(svg)[0], 'svg');
  for (const bad of ['NaN', 'Infinity', 'undefined', '<dog>']) assert.not.ok(svg.includes(bad), bad);
  assert.ok(svg.includes('cat &amp; &lt;dog&gt;: AP 0.100, AP50 1.000'));
  // The detection has IoU 1/2: at .50 precision 1/(1+ε) at every recall point, at .75 none (0 everywhere).
  // Panel 0's plot area: x 70 … 280 (cell 300 wide, 70 in, 90 short of the end), y 115 (80 + 35) … 275 (160 high).
  // Recall r → x = 70 + 210·r; precision p → y = 275 − 160·p: 1/(1+ε) → 115.0, 0 → 275.0.
  const curve = (name: string) =>
    svg
      .slice(svg.indexOf('<polyline points="', svg.indexOf(`<g class="series ${name}"`)) + 18)
      .split('"')[0]!
      .split(' ');
  const at50 = curve('category-1-iou-50');
  assert.is(at50.length, 101);
  assert.equal([at50[0], at50[50], at50[100]], ['70.0,115.0', '175.0,115.0', '280.0,115.0']);
  assert.ok(curve('category-1-iou-75').every((point) => point.endsWith(',275.0')));
  // Category 2 has no ground truth: its frame says so and holds no curve.
  const panel2 = svg.slice(svg.indexOf('<g class="panel category-2">'));
  assert.ok(panel2.includes('>no ground truth</text>') && !panel2.includes('<polyline'));
  // The second panel starts one cell (300) to the right: frame at x = 370.
  assert.ok(panel2.includes('<rect x="370" y="115" width="210" height="160"'));
});

test('per-class IoU: one bar per class, its length in proportion, "n/a" for a class never seen', () => {
  const matrix = new ConfusionMatrix(3);
  // Class 0: both its pixels right, and one of class 1's taken for it: IoU 2/(2 + 3 − 2) = 2/3. Class 1: one of
  // two right, none taken for it: 1/(2 + 1 − 1) = 1/2. Class 2: never seen.
  matrix.update([0, 0, 1, 1], [0, 0, 1, 0]);
  const svg = segmentationIouSvg(segmentationFigures(matrix), ['background', 'cat'], 'IoU of <model>');
  assert.is(wellFormedElements(svg)[0], 'svg');
  // Bars span x 170 … 730 (560 for 100%): class 0's IoU 2/3 → 373.3, class 1's 1/2 → 280.0; class 2 (unnamed:
  // its index) has no bar.
  const bar = (c: number) => /<rect x="170" y="[\d.]+" width="([\d.]+)"/.exec(svg.slice(svg.indexOf(`<g class="bar class-${c}">`)).split('</g>')[0]!)?.[1];
  assert.equal([bar(0), bar(1), bar(2)], ['373.3', '280.0', undefined]);
  assert.ok(svg.includes('>n/a</text>') && svg.includes('>2</text>') && svg.includes('&lt;model&gt;'));
  assert.ok(svg.includes('mean IoU n/a, over the classes present 58.3'));
});

test.run();
