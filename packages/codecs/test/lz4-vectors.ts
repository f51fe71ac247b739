// Test and bench helper (not shipped): deterministic inputs for the LZ4 tests.

/** Deterministic PRNG so failures reproduce. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4294967296;
  };
}

/** Text-like data with repeats at many distances, some runs and some noise. */
export function sample(n: number, seed = 1): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  const words = ['erofs', ' ', 'inode', 'lcluster', '\n', 'pcluster', 'nid', '=', '0x', 'compress', 'struct '];
  let i = 0;
  while (i < n) {
    const k = r();
    if (k < 0.5) {
      const w = words[Math.floor(r() * words.length)]!;
      for (let j = 0; j < w.length && i < n; j++) out[i++] = w.charCodeAt(j);
    } else if (k < 0.75 && i > 10) {
      const dist = 1 + Math.floor(r() * Math.min(i, r() < 0.5 ? 64 : 70000));
      const len = 4 + Math.floor(r() * 40);
      for (let j = 0; j < len && i < n; j++, i++) out[i] = out[i - dist]!;
    } else if (k < 0.8) {
      const b = Math.floor(r() * 256);
      const len = Math.floor(r() * 300);
      for (let j = 0; j < len && i < n; j++) out[i++] = b;
    } else {
      out[i++] = Math.floor(r() * 256);
    }
  }
  return out;
}

export function random(n: number, seed = 7): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(r() * 256);
  return out;
}
