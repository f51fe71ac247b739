/**
 * Choosing the superblock's epoch and fixed_nsec. A compact inode stores its
 * mtime as u32 seconds after the epoch and shares the superblock's
 * nanoseconds, so we pick the most common nanosecond value and the 2^32 s
 * window that covers the most inodes having it; everything else gets an
 * extended inode. Ties go to the smaller value, so the choice is stable.
 */
import type { Timestamp } from './tree.js';

const WINDOW = 0x100000000n;

export function chooseEpoch(mtimes: readonly Timestamp[]): { epoch: bigint; fixedNsec: number } {
  if (mtimes.length === 0) return { epoch: 0n, fixedNsec: 0 };
  const byNsec = new Map<number, bigint[]>();
  for (const t of mtimes) {
    if (t.sec < 0n) continue;
    let l = byNsec.get(t.nsec);
    if (!l) byNsec.set(t.nsec, (l = []));
    l.push(t.sec);
  }
  let fixedNsec = 0;
  let best: bigint[] = [];
  for (const [nsec, l] of byNsec) {
    if (l.length > best.length || (l.length === best.length && nsec < fixedNsec)) {
      best = l;
      fixedNsec = nsec;
    }
  }
  if (best.length === 0) return { epoch: 0n, fixedNsec: 0 };
  best.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let epoch = best[0]!;
  let bestCount = 0;
  let j = 0;
  for (let i = 0; i < best.length; i++) {
    if (i > 0 && best[i] === best[i - 1]) continue;
    if (j < i) j = i;
    while (j < best.length && best[j]! - best[i]! < WINDOW) j++;
    if (j - i > bestCount) {
      bestCount = j - i;
      epoch = best[i]!;
    }
  }
  return { epoch, fixedNsec };
}
