/**
 * MurmurHash3 x86_128 (Austin Appleby's reference, public domain) over a range of bytes, in plain
 * TypeScript: no native build, no allocation per call. The result is four 32-bit words, read from
 * `digestWords` right after the call (the next call overwrites them); as bytes, each word is
 * little-endian, word 0 first, as the reference's `out`.
 *
 * Not a cryptographic hash: it tells content apart for change detection (accidental collisions at
 * 2^-128), not against someone crafting colliding input.
 */

const c1 = 0x239b961b;
const c2 = 0xab0e9789;
const c3 = 0x38b34ae5;
const c4 = 0xa1e38b93;

/** The four words of the last digest (h1..h4 of the reference). */
export const digestWords = new Uint32Array(4);

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/**
 * Hashes `bytes[start, end)` with `seed` into `digestWords`. `view` is a DataView over exactly
 * `bytes` (its buffer, offset and length), for a caller that keeps one with its buffer: the blocks
 * are read from it as little-endian words (one load each instead of four byte loads).
 */
export function murmur3x86_128(
  bytes: Uint8Array,
  start: number,
  end: number,
  seed: number,
  view: DataView = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength),
): void {
  let h1 = seed | 0;
  let h2 = h1;
  let h3 = h1;
  let h4 = h1;
  const len = end - start;
  const blocksEnd = start + (len & ~15);
  let i = start;
  for (; i < blocksEnd; i += 16) {
    let k1 = view.getInt32(i, true);
    let k2 = view.getInt32(i + 4, true);
    let k3 = view.getInt32(i + 8, true);
    let k4 = view.getInt32(i + 12, true);

    k1 = Math.imul(rotl(Math.imul(k1, c1), 15), c2);
    h1 ^= k1;
    h1 = rotl(h1, 19) + h2;
    h1 = (Math.imul(h1, 5) + 0x561ccd1b) | 0;

    k2 = Math.imul(rotl(Math.imul(k2, c2), 16), c3);
    h2 ^= k2;
    h2 = rotl(h2, 17) + h3;
    h2 = (Math.imul(h2, 5) + 0x0bcaa747) | 0;

    k3 = Math.imul(rotl(Math.imul(k3, c3), 17), c4);
    h3 ^= k3;
    h3 = rotl(h3, 15) + h4;
    h3 = (Math.imul(h3, 5) + 0x96cd1c35) | 0;

    k4 = Math.imul(rotl(Math.imul(k4, c4), 18), c1);
    h4 ^= k4;
    h4 = rotl(h4, 13) + h1;
    h4 = (Math.imul(h4, 5) + 0x32ac3b17) | 0;
  }

  const tail = len & 15;
  let k1 = 0;
  let k2 = 0;
  let k3 = 0;
  let k4 = 0;
  // The reference's fall-through switch, byte by byte.
  for (let t = tail - 1; t >= 0; t--) {
    const b = bytes[i + t] as number;
    if (t >= 12) k4 ^= b << ((t - 12) * 8);
    else if (t >= 8) k3 ^= b << ((t - 8) * 8);
    else if (t >= 4) k2 ^= b << ((t - 4) * 8);
    else k1 ^= b << (t * 8);
  }
  if (tail > 12) h4 ^= Math.imul(rotl(Math.imul(k4, c4), 18), c1);
  if (tail > 8) h3 ^= Math.imul(rotl(Math.imul(k3, c3), 17), c4);
  if (tail > 4) h2 ^= Math.imul(rotl(Math.imul(k2, c2), 16), c3);
  if (tail > 0) h1 ^= Math.imul(rotl(Math.imul(k1, c1), 15), c2);

  h1 ^= len;
  h2 ^= len;
  h3 ^= len;
  h4 ^= len;
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  h1 = fmix(h1);
  h2 = fmix(h2);
  h3 = fmix(h3);
  h4 = fmix(h4);
  h1 = (h1 + h2 + h3 + h4) | 0;
  h2 = (h2 + h1) | 0;
  h3 = (h3 + h1) | 0;
  h4 = (h4 + h1) | 0;
  digestWords[0] = h1;
  digestWords[1] = h2;
  digestWords[2] = h3;
  digestWords[3] = h4;
}
