/** Progress of an epoch: one rewritten line with a bar on a terminal, a plain line every tenth otherwise. */
export interface ProgressReporter {
  step(progress: { epoch: number; epochs: number; done: number; total: number; loss: number; accuracy: number; imagesPerSecond: number }): void;
  /** Ends the epoch's progress display before a summary line is printed. */
  end(): void;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

export function progressReporter(stream: NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean }): ProgressReporter {
  const terminal = Boolean(stream.isTTY);
  let lastDraw = 0;
  let lastTenth = -1;
  let drawn = false;
  return {
    step({ epoch, epochs, done, total, loss, accuracy, imagesPerSecond }) {
      const remaining = imagesPerSecond > 0 ? (total - done) / imagesPerSecond : 0;
      const figures = `loss ${loss.toFixed(4)}  acc ${(accuracy * 100).toFixed(2)}%  ${Math.round(imagesPerSecond)} img/s  ETA ${formatDuration(remaining)}`;
      if (terminal) {
        const now = Date.now();
        if (now - lastDraw < REDRAW_MS && done < total) return;
        lastDraw = now;
        const filled = Math.round((BAR_WIDTH * done) / total);
        stream.write(`\r\x1b[2Kepoch ${epoch}/${epochs} [${'='.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${Math.floor((100 * done) / total)}%  ${figures}`);
        drawn = true;
        return;
      }
      const tenth = Math.floor((10 * done) / total);
      if (tenth === lastTenth || tenth === 10) return;
      lastTenth = tenth;
      stream.write(`epoch ${epoch}/${epochs} ${done}/${total} images  ${figures}\n`);
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
      lastTenth = -1;
    },
  };
}

export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
}
