// A classifier's figures on a labelled set from its true and predicted labels: the confusion matrix, accuracy
// overall and per class, and the matrix drawn as SVG.
import { printable } from '../files/display-path.js';
import { GENERATED_MARK } from '../files/output-guard.js';

export interface ClassFigures {
  readonly name: string;
  readonly images: number;
  readonly correct: number;
  /** correct / images; null for a class without images. */
  readonly accuracy: number | null;
}

export interface EvaluationReport {
  readonly images: number;
  readonly correct: number;
  readonly accuracy: number;
  readonly classes: readonly ClassFigures[];
  /** confusion[true class][predicted class]: how many images of the one were classified as the other. */
  readonly confusion: readonly (readonly number[])[];
}

/** The figures for true labels against predicted ones, over `classNames.length` classes. */
export function evaluationReport(labels: ArrayLike<number>, predicted: ArrayLike<number>, classNames: readonly string[]): EvaluationReport {
  const classes = classNames.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < labels.length; i++) confusion[labels[i]!]![predicted[i]!]! += 1;
  const figures = classNames.map((name, c) => {
    const images = confusion[c]!.reduce((a, b) => a + b, 0);
    const correct = confusion[c]![c]!;
    return { name, images, correct, accuracy: images === 0 ? null : correct / images };
  });
  const correct = figures.reduce((sum, f) => sum + f.correct, 0);
  return { images: labels.length, correct, accuracy: correct / labels.length, classes: figures, confusion };
}

/** The report as text: overall accuracy, a table per class, then the confusion matrix with true classes as rows. */
export function formatReport(report: EvaluationReport): string {
  const percent = (value: number | null) => (value === null ? 'n/a' : `${(100 * value).toFixed(2)}%`);
  // Class names are the user's (folder names): shown printable, so that none can rewrite the terminal's lines.
  const names = report.classes.map((c) => printable(c.name));
  const nameWidth = Math.max(5, ...names.map((name) => name.length));
  const lines = [`accuracy ${percent(report.accuracy)} (${report.correct} of ${report.images})`, '', `${'class'.padEnd(nameWidth)}  images  correct  accuracy`];
  for (const [i, c] of report.classes.entries())
    lines.push(`${names[i]!.padEnd(nameWidth)}  ${String(c.images).padStart(6)}  ${String(c.correct).padStart(7)}  ${percent(c.accuracy).padStart(8)}`);
  // A reduce, not a spread: ImageNet's matrix has a million cells, past the arguments a call can take.
  const cell = report.confusion.reduce((widest, row) => row.reduce((w, n) => Math.max(w, String(n).length), widest), 4) + 1;
  lines.push('', 'confusion matrix: rows are the true classes, columns the predicted ones, in the order above');
  report.confusion.forEach((row, c) => lines.push(`${names[c]!.padEnd(nameWidth)} ${row.map((n) => String(n).padStart(cell)).join('')}`));
  return `${lines.join('\n')}\n`;
}

const CELL = 28;
const MARGIN = 150;

/** The confusion matrix as a standalone SVG: one square per (true, predicted) pair, shaded by its share of the row. */
export function confusionSvg(report: EvaluationReport, title: string): string {
  const n = report.classes.length;
  const size = MARGIN + n * CELL + 20;
  const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size + 30}" viewBox="0 0 ${size} ${size + 30}" font-family="sans-serif" font-size="11">`,
    `<desc>${GENERATED_MARK}: confusion matrix</desc>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="13">${escapeXml(title)}</text>`,
    `<text x="${MARGIN}" y="${MARGIN - 112}">predicted class →</text>`,
    `<text x="10" y="${MARGIN - 112}">true class ↓</text>`,
  ];
  report.classes.forEach((c, i) => {
    const middle = MARGIN + i * CELL + CELL / 2;
    parts.push(`<text x="${MARGIN - 6}" y="${middle + 4}" text-anchor="end">${escapeXml(c.name)}</text>`);
    parts.push(`<text transform="translate(${middle + 4} ${MARGIN - 6}) rotate(-60)">${escapeXml(c.name)}</text>`);
  });
  report.confusion.forEach((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((count, p) => {
      const share = total === 0 ? 0 : count / total;
      const shade = Math.round(255 - 200 * share);
      const x = MARGIN + p * CELL;
      const y = MARGIN + t * CELL;
      parts.push(
        `<rect x="${x}" y="${y}" width="${CELL}" height="${CELL}" fill="rgb(${shade},${shade},255)" stroke="#ccc"><title>${escapeXml(report.classes[t]!.name)} as ${escapeXml(report.classes[p]!.name)}: ${count}</title></rect>`,
      );
      parts.push(`<text x="${x + CELL / 2}" y="${y + CELL / 2 + 4}" text-anchor="middle" fill="${share > 0.6 ? 'white' : 'black'}">${count}</text>`);
    });
  });
  parts.push(`<text x="10" y="${size + 20}">accuracy ${(100 * report.accuracy).toFixed(2)}% (${report.correct} of ${report.images})</text>`, '</svg>');
  return `${parts.join('\n')}\n`;
}
