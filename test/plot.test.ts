// The training-curve SVG: well-formed XML checked by a small scanner, escaped text, no NaN whatever the data, and
// points placed where hand arithmetic on the documented layout says they go.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { plotHistory, type EpochRecord } from '../src/train/plot.js';
import { wellFormedElements } from './support/xml.js';

test('the well-formedness check itself refuses broken XML', () => {
  for (const broken of ['<svg><g></svg>', '<svg a="1" a="2"/>', '<svg>&nbsp;</svg>', '<svg a="<"/>', '<svg/><svg/>', '<svg>x</g>', '<svg a=1/>']) {
    assert.throws(() => wellFormedElements(broken), undefined, broken);
  }
  assert.equal(wellFormedElements('<svg a="&amp;&#60;"><g/><text>a &lt; b</text></svg>'), ['svg', 'g', 'text']);
});

const record = (epoch: number, trainLoss: number, testLoss: number, trainAccuracy: number, testAccuracy: number): EpochRecord => ({
  epoch,
  trainLoss,
  testLoss,
  trainAccuracy,
  testAccuracy,
  seconds: 12.5,
});

// Accuracies in percent: train 55…85, test 50…80 with epoch 3 missing (NaN).
const history = [
  record(1, 2.0, 2.1, 0.55, 0.5),
  record(2, 1.5, 1.7, 0.65, 0.6),
  record(3, 1.0, 1.3, 0.75, NaN),
  record(4, 0.8, 1.2, 0.8, 0.7),
  record(5, 0.6, 1.1, 0.85, 0.8),
];

/** The text between `after` (searched from the start of `from`) and the next `until`. */
function between(svg: string, from: string, after: string, until: string): string {
  const start = svg.indexOf(after, svg.indexOf(from));
  assert.ok(svg.indexOf(from) !== -1 && start !== -1, `${from} … ${after} not found`);
  return svg.slice(start + after.length, svg.indexOf(until, start + after.length));
}

/** The labels of the ticks of one class inside one panel, in document order. */
function tickLabels(svg: string, panel: string, tickClass: string): string[] {
  const body = between(svg, `<g class="panel ${panel}">`, '', '<rect');
  return body
    .split('\n')
    .filter((line) => line.includes(`class="${tickClass}"`))
    .map((line) => line.slice(line.indexOf('>') + 1, line.lastIndexOf('</text>')));
}

test('the chart is one well-formed <svg> without NaN, Infinity or undefined, the same on every call', () => {
  const svg = plotHistory(history, 'resnet on fashion-mnist');
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  assert.ok(svg.endsWith('</svg>\n'));
  const elements = wellFormedElements(svg);
  assert.is(elements[0], 'svg');
  for (const bad of ['NaN', 'Infinity', 'undefined']) assert.not.ok(svg.includes(bad), bad);
  assert.is(plotHistory(history, 'resnet on fashion-mnist'), svg);
  // Two panels, each with train and test series, and a legend naming both.
  assert.ok(svg.includes('<g class="panel loss">') && svg.includes('<g class="panel accuracy">'));
  for (const series of ['loss-train', 'loss-test', 'accuracy-train', 'accuracy-test']) assert.ok(svg.includes(`<g class="series ${series}"`), series);
  assert.ok(svg.includes('>train</text>') && svg.includes('>test</text>') && svg.includes('>epoch</text>') && svg.includes('>accuracy (%)</text>'));
});

test('the title is XML-escaped everywhere it appears', () => {
  const svg = plotHistory(history, `<script>&"'\u0001`);
  assert.not.ok(svg.includes('<script>'));
  assert.ok(svg.includes('<title>&lt;script&gt;&amp;&quot;&apos;</title>'));
  assert.ok(svg.includes('>&lt;script&gt;&amp;&quot;&apos;</text>'));
  wellFormedElements(svg);
});

test('test accuracy: one point per finite epoch, placed linearly on nice axes', () => {
  const svg = plotHistory(history, 't');
  // Percentages span 50…85: 35 / 5 target ticks = 7, rounded up to a nice step of 10, so the axis runs 50…90.
  assert.equal(tickLabels(svg, 'accuracy', 'y-tick'), ['50', '60', '70', '80', '90']);
  // Epochs 1…5: 4 / 5 = 0.8, at least a whole epoch, so a step of 1.
  assert.equal(tickLabels(svg, 'accuracy', 'x-tick'), ['1', '2', '3', '4', '5']);
  // The accuracy plot area spans x 480 + 80 = 560 … 480 + 450 = 930 and y 95 … 355 (260 high).
  // x = 560 + (epoch − 1)/4 · 370: epochs 1, 2, 4, 5 → 560, 652.5, 837.5, 930.
  // y = 355 − (percent − 50)/40 · 260: 50, 60, 70, 80 → 355, 290, 225, 160. Epoch 3 (NaN) has no point.
  const points = between(svg, '<g class="series accuracy-test"', '<polyline points="', '"');
  assert.is(points, '560.0,355.0 652.5,290.0 837.5,225.0 930.0,160.0');
  const markers = between(svg, '<g class="series accuracy-test"', '', '</g>').split('<circle').length - 1;
  assert.is(markers, 4);
});

test('loss: nice decimal ticks and a point placed by hand arithmetic', () => {
  const svg = plotHistory(history, 't');
  // Losses span 0.6…2.1: 1.5 / 5 = 0.3, rounded up to a step of 0.5, so the axis runs 0.5…2.5.
  assert.equal(tickLabels(svg, 'loss', 'y-tick'), ['0.5', '1.0', '1.5', '2.0', '2.5']);
  // Train loss at epoch 3 is 1.0: x = 80 + 2/4 · 370 = 265, y = 355 − (1.0 − 0.5)/2 · 260 = 290.
  const points = between(svg, '<g class="series loss-train"', '<polyline points="', '"').split(' ');
  assert.is(points[2], '265.0,290.0');
});

test('a single epoch is drawn as points centred on its epoch', () => {
  const svg = plotHistory([record(7, 0.9, 1.1, 0.7, 0.65)], 'one');
  wellFormedElements(svg);
  assert.not.ok(svg.includes('<polyline'));
  // The epoch axis is 6…8, so epoch 7 sits mid-panel: x = 80 + 370/2 = 265 (loss) and 560 + 185 = 745 (accuracy).
  assert.equal(tickLabels(svg, 'loss', 'x-tick'), ['6', '7', '8']);
  assert.ok(between(svg, '<g class="series loss-train"', '<circle ', '/>').startsWith('cx="265.0"'));
  assert.ok(between(svg, '<g class="series accuracy-test"', '<circle ', '/>').startsWith('cx="745.0"'));
});

test('non-finite and enormous values are skipped, never written as numbers', () => {
  const svg = plotHistory(
    [record(1, NaN, Infinity, NaN, -Infinity), record(2, NaN, NaN, 0.5, Number.MAX_VALUE), record(NaN, 1, 1, 1, 1), record(3, NaN, -Infinity, 1e300, 0.25)],
    'diverged',
  );
  wellFormedElements(svg);
  for (const bad of ['NaN', 'Infinity', 'undefined']) assert.not.ok(svg.includes(bad), bad);
  // No finite loss at all: the loss panel says so instead of drawing lines.
  assert.ok(between(svg, '<g class="panel loss">', '', '</g>').includes('>no finite values</text>'));
  assert.not.ok(svg.includes('series loss-'));
  // Accuracy keeps train 50% (epoch 2) and 1e302% (epoch 3 — finite but above the plottable 1e300 once in percent, so skipped)…
  assert.is(between(svg, '<g class="series accuracy-train"', '', '</g>').split('<circle').length - 1, 1);
  // …and test 25% (epoch 3); Number.MAX_VALUE is skipped.
  assert.is(between(svg, '<g class="series accuracy-test"', '', '</g>').split('<circle').length - 1, 1);
});

test('values spanning ±1e300 still give finite coordinates', () => {
  const svg = plotHistory([record(1, 1e300, -1e300, 0, 1), record(2, 5e-324, 0, 0.5, 0.5)], 'extremes');
  wellFormedElements(svg);
  for (const bad of ['NaN', 'Infinity', 'undefined']) assert.not.ok(svg.includes(bad), bad);
});

test('an empty history gives a chart saying "no epochs yet"', () => {
  const svg = plotHistory([], 'waiting');
  assert.equal(wellFormedElements(svg), ['svg', 'desc', 'title', 'rect', 'text', 'text']);
  assert.ok(svg.includes('<desc>Generated by netspec: training curves</desc>'), 'the mark that lets a later run replace the file');
  assert.ok(svg.includes('>no epochs yet</text>'));
  assert.ok(svg.includes('>waiting</text>'));
  assert.not.ok(svg.includes('panel'));
});

test.run();
