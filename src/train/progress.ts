// A training epoch's progress, shown through the one terminal display: loss, accuracy, images a second and time left.
import { formatDuration, redrawnLine, type ProgressStream } from '../terminal/progress.js';

export interface ProgressReporter {
  step(progress: { epoch: number; epochs: number; done: number; total: number; loss: number; accuracy: number; imagesPerSecond: number }): void;
  /** Ends the epoch's progress display before a summary line is printed. */
  end(): void;
}

export function progressReporter(stream: ProgressStream): ProgressReporter {
  let epochLabel = '';
  const line = redrawnLine(stream, () => epochLabel);
  return {
    step({ epoch, epochs, done, total, loss, accuracy, imagesPerSecond }) {
      const remaining = imagesPerSecond > 0 ? (total - done) / imagesPerSecond : 0;
      const figures = `loss ${loss.toFixed(4)}  acc ${(accuracy * 100).toFixed(2)}%  ${Math.round(imagesPerSecond)} img/s  ETA ${formatDuration(remaining)}`;
      epochLabel = `epoch ${epoch}/${epochs}`;
      line.show(done, total, { bar: `${Math.floor((100 * done) / total)}%  ${figures}`, plain: `${done}/${total} images  ${figures}` });
    },
    end: () => line.end(),
  };
}
