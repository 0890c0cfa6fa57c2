/** Milliseconds of each of `runs` calls after `warmup` untimed ones: the same loop in the page and in Node. */
export async function timed(call: () => Promise<void>, warmup: number, runs: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await call();
    times.push(performance.now() - start);
  }
  return times;
}
