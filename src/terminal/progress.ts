// Progress of long work on standard error: one bar redrawn in place on a terminal, a plain line every tenth of the
// way otherwise (logs, CI), each with the rate and the time left.

export interface ProgressLine {
  /** `done` of `total` finished; `figures` are shown after the count (rates, running scores). */
  update(done: number, total: number, figures?: string): void;
  /** Erases the bar on a terminal, so that a result printed now gets a line of its own; the next update redraws it. */
  clear(): void;
  /** Ends the display before a summary is printed. */
  end(): void;
}

/** The display itself: what is shown beside the bar on a terminal, and on its own line elsewhere. */
export interface RedrawnLine {
  show(done: number, total: number, text: { readonly bar: string; readonly plain: string }): void;
  clear(): void;
  end(): void;
}

const BAR_WIDTH = 24;
const REDRAW_MS = 100;

export type ProgressStream = NodeJS.WriteStream | { write(text: string): unknown; isTTY?: boolean };

/**
 * Redraws `label [bar] text.bar` at most every 100 ms on a terminal; elsewhere prints `text.plain` once per tenth of
 * the way, leaving out the last tenth, which the summary that follows says better.
 */
export function redrawnLine(stream: ProgressStream, label: () => string): RedrawnLine {
  const terminal = Boolean(stream.isTTY);
  let lastDraw = 0;
  let lastTenth = -1;
  let drawn = false;
  return {
    show(done, total, text) {
      if (terminal) {
        const now = Date.now();
        if (now - lastDraw < REDRAW_MS && done < total) return;
        lastDraw = now;
        const filled = total > 0 ? Math.round((BAR_WIDTH * done) / total) : BAR_WIDTH;
        stream.write(`\r\x1b[2K${label()} [${'='.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${text.bar}`);
        drawn = true;
        return;
      }
      const tenth = total > 0 ? Math.floor((10 * done) / total) : 10;
      if (tenth === lastTenth || tenth === 10) return;
      lastTenth = tenth;
      stream.write(`${label()} ${text.plain}\n`);
    },
    clear() {
      if (!drawn) return;
      stream.write('\r\x1b[2K');
      drawn = false;
      lastDraw = 0;
    },
    end() {
      if (drawn) stream.write('\n');
      drawn = false;
      lastTenth = -1;
    },
  };
}

/**
 * A progress display for `label` (e.g. "eval"): items per second and the time left from the rate so far. With
 * `quietFor`, nothing is shown until that many seconds have passed: a short run prints only its results.
 */
export function progressLine(stream: ProgressStream, label: string, unit: string, options: { readonly quietFor?: number } = {}): ProgressLine {
  const started = performance.now();
  const line = redrawnLine(stream, () => label);
  return {
    update(done, total, figures = '') {
      const seconds = (performance.now() - started) / 1000;
      if (seconds < (options.quietFor ?? 0)) return;
      const rate = seconds > 0 ? done / seconds : 0;
      const left = rate > 0 ? (total - done) / rate : 0;
      const text = `${done}/${total} ${unit}  ${rate.toFixed(rate < 10 ? 1 : 0)} ${unit}/s  ${formatDuration(left)} left${figures ? `  ${figures}` : ''}`;
      line.show(done, total, { bar: text, plain: text });
    },
    clear: () => line.clear(),
    end: () => line.end(),
  };
}

/** m:ss, or h:mm:ss from an hour. */
export function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.round(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
}
