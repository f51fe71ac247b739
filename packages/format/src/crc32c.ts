/**
 * CRC32C (Castagnoli), as EROFS uses it for the superblock checksum.
 *
 * The kernel calls `crc32c(~0, buf, len)` and stores the raw register, without
 * the final inversion of the textbook CRC32C, so `crc32cRaw(~0 >>> 0, ...)`
 * gives exactly the on-disk value. Slicing-by-8 tables keep it fast enough to
 * checksum whole blocks in tests and tools.
 */
const POLY = 0x82f63b78;
const T = new Uint32Array(8 * 256);
for (let i = 0; i < 256; i++) {
  let c = i;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
  T[i] = c;
}
for (let i = 0; i < 256; i++) {
  for (let s = 1; s < 8; s++) {
    const prev = T[(s - 1) * 256 + i]!;
    T[s * 256 + i] = (prev >>> 8) ^ T[prev & 0xff]!;
  }
}

/** Runs the CRC32C register over `buf[start, end)` starting from `crc` (no pre/post inversion). */
export function crc32cRaw(crc: number, buf: Uint8Array, start = 0, end = buf.length): number {
  let c = crc >>> 0;
  let i = start;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24));
    c =
      T[7 * 256 + (a & 0xff)]! ^
      T[6 * 256 + ((a >>> 8) & 0xff)]! ^
      T[5 * 256 + ((a >>> 16) & 0xff)]! ^
      T[4 * 256 + (a >>> 24)]! ^
      T[3 * 256 + buf[i + 4]!]! ^
      T[2 * 256 + buf[i + 5]!]! ^
      T[256 + buf[i + 6]!]! ^
      T[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = (c >>> 8) ^ T[(c ^ buf[i]!) & 0xff]!;
  return c >>> 0;
}

/** The textbook CRC32C (init ~0, final inversion), e.g. 0xe3069283 for "123456789". */
export function crc32c(buf: Uint8Array, start = 0, end = buf.length): number {
  return ~crc32cRaw(0xffffffff, buf, start, end) >>> 0;
}
