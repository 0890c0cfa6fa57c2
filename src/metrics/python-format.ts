/**
 * Python's fixed-point formatting (`'{:.3f}'.format(x)`): the exact binary value rounded half to even, so that
 * 0.0625 prints as 0.062 where JavaScript's toFixed gives 0.063. Printed figures then match the reference tools'
 * character for character.
 */
export function pythonFixed(value: number, digits: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  // Python prints the sign of negative zero; toFixed drops it.
  const sign = Object.is(value, -0) ? '-' : '';
  const rounded = value.toFixed(digits);
  if (Math.abs(value) >= 1e21) return rounded;
  // A tie is a value whose exact decimal expansion is 5 right after the kept digits and nothing further; the
  // doubles near a tie differ from it within 30 more digits, so that long an expansion tells them apart.
  const extra = 30;
  const long = value.toFixed(digits + extra);
  if (long.slice(-extra) !== `5${'0'.repeat(extra - 1)}`) return sign + rounded;
  // toFixed rounds a tie away from zero; half to even keeps the truncated digits when their last one is even.
  const truncated = long.slice(0, digits === 0 ? -extra - 1 : -extra);
  return Number(truncated.at(-1)) % 2 === 0 ? truncated : rounded;
}
