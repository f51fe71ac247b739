/**
 * Little-endian field access on plain Uint8Arrays. Every EROFS structure is
 * little-endian; these helpers keep structure code free of DataView churn and
 * run unchanged in a browser.
 */
export function u16(b: Uint8Array, o: number): number {
  return b[o]! | (b[o + 1]! << 8);
}
export function u32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}
/** 64-bit field as a bigint. */
export function u64(b: Uint8Array, o: number): bigint {
  return BigInt(u32(b, o)) | (BigInt(u32(b, o + 4)) << 32n);
}
/** 64-bit field as a number; exact up to 2^53 (sizes and offsets of real images). */
export function u64n(b: Uint8Array, o: number): number {
  return u32(b, o) + u32(b, o + 4) * 0x100000000;
}
export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}
/** Stores a 64-bit value given as a bigint (two's complement for negatives). */
export function put64(b: Uint8Array, o: number, v: bigint): void {
  const x = BigInt.asUintN(64, v);
  put32(b, o, Number(x & 0xffffffffn));
  put32(b, o + 4, Number(x >> 32n));
}
/** Stores a 64-bit value given as a non-negative safe integer. */
export function put64n(b: Uint8Array, o: number, v: number): void {
  put32(b, o, v >>> 0);
  put32(b, o + 4, Math.floor(v / 0x100000000));
}
