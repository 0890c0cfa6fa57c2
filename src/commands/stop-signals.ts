// How a training command stops: Ctrl-C (SIGINT) and SIGTERM (a job scheduler, `kill`, a container stopping) both
// finish the step and save a checkpoint; the same signal again quits at once. The exit status is 128 plus the
// signal's number, as a shell reports a signal.

/**
 * Runs `train` with a `shouldStop` that turns true on SIGINT or SIGTERM; returns the command's exit status: 0 when
 * it finished, the signal's status when it stopped early (130 when it stopped for another reason).
 */
export async function untilStopped(train: (shouldStop: () => boolean) => Promise<boolean>): Promise<number> {
  let stopRequested: { readonly status: number } | undefined;
  const stopOn = (signal: 'SIGINT' | 'SIGTERM', status: number) => () => {
    if (stopRequested) process.exit(status);
    stopRequested = { status };
    const again = signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM';
    process.stderr.write(
      `\nnetspec: ${signal === 'SIGTERM' ? 'SIGTERM: ' : ''}stopping after this step to save a checkpoint (${again} again to quit at once)\n`,
    );
  };
  const handlers = { SIGINT: stopOn('SIGINT', 130), SIGTERM: stopOn('SIGTERM', 143) };
  process.on('SIGINT', handlers.SIGINT);
  process.on('SIGTERM', handlers.SIGTERM);
  try {
    const interrupted = await train(() => stopRequested !== undefined);
    return interrupted ? (stopRequested?.status ?? 130) : 0;
  } finally {
    process.off('SIGINT', handlers.SIGINT);
    process.off('SIGTERM', handlers.SIGTERM);
  }
}
