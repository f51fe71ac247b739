/**
 * Content digests ("sha256:<64 hex>"): parsing and verification while
 * streaming, so a blob is checked without a second read or a temp copy.
 */
import { createHash } from 'node:crypto';
import { corrupt, invalid } from '../errors.js';

const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/** Checks the shape of a digest; it later becomes a file name, so nothing else may pass. */
export function parseDigest(d: unknown, where: string): { algorithm: 'sha256' | 'sha512'; hex: string; digest: string } {
  if (typeof d !== 'string' || !DIGEST.test(d)) throw invalid(`unsupported or malformed digest ${JSON.stringify(d)}`, where);
  const [algorithm, hex] = d.split(':') as ['sha256' | 'sha512', string];
  return { algorithm, hex, digest: d };
}

/**
 * Passes `input` through while hashing it; after the last chunk the digest
 * (and the size, when known) must match, else EFSCORRUPTED naming the digest.
 * More bytes than `size` fail at once, so a hostile blob cannot run on forever.
 */
export async function* verifyDigest(input: AsyncIterable<Uint8Array>, digest: string, size?: number): AsyncGenerator<Uint8Array, void, undefined> {
  const { algorithm, hex } = parseDigest(digest, digest);
  const h = createHash(algorithm);
  let n = 0;
  for await (const c of input) {
    n += c.length;
    if (size !== undefined && n > size) throw corrupt(`blob is larger than its descriptor says (${size} bytes)`, digest);
    h.update(c);
    yield c;
  }
  if (size !== undefined && n !== size) throw corrupt(`blob is ${n} bytes, its descriptor says ${size}`, digest);
  const got = h.digest('hex');
  if (got !== hex) throw corrupt(`digest mismatch: content hashes to ${algorithm}:${got}`, digest);
}
