/**
 * node:crypto SHA-256 for fingerprint verification: several times faster than
 * the pure-TypeScript one. Pass as `mount(image, { hasher: nodeSha256Hasher })`.
 */
import { createHash } from 'node:crypto';
import type { Hash, HasherFactory } from '../sha256.js';

export const nodeSha256Hasher: HasherFactory = (): Hash => {
  const h = createHash('sha256');
  return {
    update(bytes: Uint8Array): void { h.update(bytes); },
    digest(): Uint8Array { return new Uint8Array(h.digest()); },
  };
};
