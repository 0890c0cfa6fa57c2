// How many bits the int8 weights of a U8S8 model keep, for the CPU that runs it.
import { readBounded } from '../files/read-bounded.js';

export type WeightBits = 7 | 8;

/** /proc/cpuinfo holds a few kB a core. */
const CPUINFO_LIMIT = 4 * 2 ** 20;

/**
 * VNNI's instructions (AVX-512 VNNI, AVX-VNNI) multiply uint8 by int8 into 32-bit sums, so full 8-bit weights cannot
 * saturate. Without them, x86's uint8 × int8 pairs are summed into saturating 16 bits, and weights kept to 7 bits
 * (onnxruntime's reduce_range) keep 2 × 255 × 64 below 2^15 where 2 × 255 × 127 is not.
 */
export function weightBitsFor(cpuFlags: readonly string[]): WeightBits {
  return cpuFlags.some((flag) => flag === 'avx512_vnni' || flag === 'avx_vnni') ? 8 : 7;
}

/** This machine's CPU flags, from /proc/cpuinfo on Linux; none elsewhere, which keeps the safe 7 bits. */
export function cpuFlags(): string[] {
  const bytes = readBounded('/proc/cpuinfo', CPUINFO_LIMIT);
  if (!(bytes instanceof Uint8Array)) return [];
  const line = new TextDecoder()
    .decode(bytes)
    .split('\n')
    .find((text) => /^flags\s*:/.test(text));
  return line === undefined
    ? []
    : line
        .replace(/^flags\s*:/, '')
        .trim()
        .split(/\s+/);
}
