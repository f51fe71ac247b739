/**
 * Inode page cache sharing, after Linux 7.0 fs/erofs/ishare.c.
 *
 * A regular file carrying the fingerprint xattr joins a shared inode found by
 * its key = fingerprint value bytes followed by domain_id bytes; the lookup
 * hashes the key with xxh32 (as the kernel does) and then compares it in full.
 * Reads go through the shared inode's address space; a miss is filled through
 * a live member inode; a member leaves when its mount goes away and the shared
 * inode (with its pages) is freed when the last member leaves.
 *
 * Deliberate differences from the kernel, all stricter:
 *  - the domain is compared on its own too, so (value "ab", domain "c") and
 *    (value "a", domain "bc"), one key to the kernel, never meet here;
 *  - mounts with verifyFingerprints share only with each other (the flag is
 *    part of the key), so their shared pages were all filled through members
 *    whose content was hashed and found equal to the fingerprint.
 */
import { ErofsError, xxh32 } from '@erofs/format';
import type { BackingFile, ReadPath } from './backing.js';
import type { AddressSpace, PageCache, ReadContext } from './page-cache.js';
import type { HasherFactory } from './sha256.js';

/** What a member inode provides to its shared inode. */
export interface ShareMemberOwner {
  readonly backing: BackingFile;
  /** SHA-256 used to verify this member (its mount's choice). */
  readonly hasher: HasherFactory;
  /** Called once when verification refused the member: switch to a private space. */
  refused(member: ShareMember): void;
}

/** One inode (of one mount) reading through a shared inode. */
export class ShareMember {
  live = true;
  /** undefined: not verified yet; a promise while hashing; then the verdict. */
  verdict: boolean | Promise<boolean> | undefined;
  constructor(readonly shared: SharedInode, readonly owner: ShareMemberOwner, readonly verify: boolean) {}
}

/** The "shared inode" of the kernel: one address space, many member inodes. */
export class SharedInode {
  readonly members: ShareMember[] = [];
  /** Members verified (hashed) so far: bounded by the number of joins. */
  verifications = 0;
  constructor(
    readonly registry: IshareRegistry,
    readonly hash: number,
    readonly key: Uint8Array,
    readonly domainId: string,
    readonly verify: boolean,
    readonly size: number,
    readonly readPath: ReadPath,
    public space: AddressSpace,
  ) {}

  /** The member that fills a miss (see PageCacheOptions.sharedFill). */
  pick(requester: unknown): ShareMember | undefined {
    if (this.registry.cache.sharedFill === 'reader' && requester instanceof ShareMember && requester.shared === this && requester.live) {
      return requester;
    }
    return this.members[this.members.length - 1];
  }

  /** The member to fill from: pick()'s, once its content is verified when verification is on (refused members are skipped). */
  private async filler(ctx: ReadContext): Promise<ShareMember> {
    for (;;) {
      const m = this.pick(ctx.requester);
      if (m === undefined) throw new ShareGoneError(this.space.id);
      if (!this.verify || m.verdict === true || (await verifyMember(this, m))) return m;
      this.registry.refuse(m);
    }
  }

  async fill(first: number, count: number, ctx: ReadContext): Promise<Uint8Array> {
    const ps = this.space.pageSize;
    const pos = first * ps;
    const len = Math.min(this.size, (first + count) * ps) - pos;
    return (await this.filler(ctx)).owner.backing.read(pos, len);
  }

  /** fill() into a caller's buffer (the page frames): through the member's readInto when it has one. */
  async fillInto(first: number, count: number, dst: Uint8Array, dstOff: number, ctx: ReadContext): Promise<void> {
    const ps = this.space.pageSize;
    const pos = first * ps;
    const len = Math.min(this.size, (first + count) * ps) - pos;
    const b = (await this.filler(ctx)).owner.backing;
    if (b.readInto !== undefined) {
      const n = await b.readInto(pos, len, dst, dstOff);
      if (n !== len) throw new ErofsError('EIO', `short read filling pages ${first}..${first + count - 1} (${n} < ${len})`, this.space.id);
    } else {
      const bytes = await b.read(pos, len);
      if (!(bytes instanceof Uint8Array) || bytes.length < len) {
        throw new ErofsError('EIO', `short read filling pages ${first}..${first + count - 1} (${bytes?.length} < ${len})`, this.space.id);
      }
      dst.set(bytes.length === len ? bytes : bytes.subarray(0, len), dstOff);
    }
  }
}

/** Thrown to readers of a shared inode whose last member left during a fill. */
export class ShareGoneError extends Error {
  constructor(where: string) {
    super(`shared inode has no live member @ ${where}`);
    this.name = 'ShareGoneError';
  }
}

/** Why a file reads through a private space although sharing is on. */
export type NotSharedReason =
  | 'no-fingerprint'
  | 'bad-fingerprint-length'
  | 'size-mismatch'
  | 'read-path-mismatch'
  | 'page-size-mismatch'
  | 'not-regular'
  | 'fingerprint-mismatch';

/** The table of shared inodes of one PageCache. */
export class IshareRegistry {
  private readonly byHash = new Map<number, SharedInode[]>();
  private readonly enc = new TextEncoder();

  constructor(readonly cache: PageCache) {}

  /** The registry of a cache (created on first use). */
  static of(cache: PageCache): IshareRegistry {
    return cache.registry('ishare', (c) => new IshareRegistry(c));
  }

  /** Number of live shared inodes. */
  get size(): number {
    let n = 0;
    for (const l of this.byHash.values()) n += l.length;
    return n;
  }

  /**
   * erofs_ishare_fill_inode(): joins `owner` to the shared inode of its key,
   * creating it; or says why the file stays private.
   */
  join(owner: ShareMemberOwner, domainId: string, verify: boolean, blockSize: number, pageSize: number):
    { member: ShareMember } | { reason: NotSharedReason; detail: string } {
    const f = owner.backing;
    if (!f.isRegular) return { reason: 'not-regular', detail: 'not a regular file' };
    const fp = f.fingerprint;
    if (fp === null) return { reason: 'no-fingerprint', detail: 'no fingerprint xattr' };
    // erofs_xattr_fill_inode_fingerprint(): the value must be 1..block size bytes.
    if (fp.length === 0 || fp.length > blockSize) {
      return { reason: 'bad-fingerprint-length', detail: `fingerprint of ${fp.length} bytes (block size ${blockSize})` };
    }
    const dom = this.enc.encode(domainId);
    const key = new Uint8Array(fp.length + dom.length);
    key.set(fp, 0);
    key.set(dom, fp.length);
    const hash = xxh32(key, 0);
    const list = this.byHash.get(hash) ?? [];
    let shared = list.find((s) => s.verify === verify && s.domainId === domainId && bytesEqual(s.key, key));
    if (shared === undefined) {
      shared = new SharedInode(this, hash, key, domainId, verify, f.size, f.readPath, undefined as unknown as AddressSpace);
      const s = shared;
      shared.space = this.cache.createSpace(`ishare#${this.cache.nextSerial()}:${domainId}:${hexPreview(fp)}`, 'inode-share', f.size,
        (first, count, ctx) => s.fill(first, count, ctx), pageSize);
      shared.space.fillInto = (first, count, dst, dstOff, ctx) => s.fillInto(first, count, dst, dstOff, ctx);
      shared.space.members = 0;
      list.push(shared);
      this.byHash.set(hash, list);
    } else {
      if (shared.size !== f.size) {
        return { reason: 'size-mismatch', detail: `size ${f.size} differs from the shared inode's ${shared.size} for the same fingerprint` };
      }
      // Since 7.0-rc2 only inodes with the same address space operations share.
      if (shared.readPath !== f.readPath) {
        return { reason: 'read-path-mismatch', detail: `${f.readPath} file cannot share a ${shared.readPath} shared inode` };
      }
      if (shared.space.pageSize !== pageSize) {
        return { reason: 'page-size-mismatch', detail: `page size ${pageSize} differs from the shared inode's ${shared.space.pageSize}` };
      }
    }
    const member = new ShareMember(shared, owner, verify);
    shared.members.push(member);
    shared.space.members = shared.members.length;
    return { member };
  }

  /** erofs_ishare_free_inode(): the member leaves; the last one frees the shared inode. */
  leave(member: ShareMember): void {
    if (!member.live) return;
    member.live = false;
    const shared = member.shared;
    const i = shared.members.indexOf(member);
    if (i >= 0) shared.members.splice(i, 1);
    shared.space.members = shared.members.length;
    if (shared.members.length === 0) {
      this.cache.dropSpace(shared.space);
      const list = this.byHash.get(shared.hash);
      if (list) {
        const j = list.indexOf(shared);
        if (j >= 0) list.splice(j, 1);
        if (list.length === 0) this.byHash.delete(shared.hash);
      }
    }
  }

  /** Verification failed: the member leaves and its inode reads privately. */
  refuse(member: ShareMember): void {
    if (!member.live) return;
    this.leave(member);
    member.owner.refused(member);
  }
}

/**
 * Hashes the member's whole file once (per member and shared inode) and
 * compares it with its claimed fingerprint: `sha256:` followed by the 32 raw
 * digest bytes (what mkfs.erofs writes), or by 64 hex digits (what the docs say).
 */
function verifyMember(shared: SharedInode, m: ShareMember): Promise<boolean> | boolean {
  if (m.verdict === undefined) {
    shared.verifications++;
    const p = hashFile(m.owner.backing, m.owner.hasher).then(
      (digest) => (m.verdict = fingerprintMatches(m.owner.backing.fingerprint!, digest)),
      () => (m.verdict = false),
    );
    m.verdict = p;
  }
  return m.verdict;
}

const CHUNK = 1 << 20;

async function hashFile(f: BackingFile, hasher: HasherFactory): Promise<Uint8Array> {
  const h = hasher();
  for (let pos = 0; pos < f.size; pos += CHUNK) {
    const len = Math.min(CHUNK, f.size - pos);
    const b = await f.read(pos, len);
    if (b.length < len) throw new Error('short read while hashing');
    h.update(b.length === len ? b : b.subarray(0, len));
  }
  return h.digest();
}

const SHA256_PREFIX = [0x73, 0x68, 0x61, 0x32, 0x35, 0x36, 0x3a]; // "sha256:"

/** True when `fp` is a sha256 fingerprint equal to `digest`. */
export function fingerprintMatches(fp: Uint8Array, digest: Uint8Array): boolean {
  if (fp.length < 7 || !SHA256_PREFIX.every((c, i) => fp[i] === c)) return false;
  const v = fp.subarray(7);
  if (v.length === 32) return bytesEqual(v, digest);
  if (v.length === 64) {
    let hex = '';
    for (const b of digest) hex += b.toString(16).padStart(2, '0');
    return new TextDecoder().decode(v).toLowerCase() === hex;
  }
  return false;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hexPreview(b: Uint8Array): string {
  let s = '';
  for (const x of b.subarray(Math.max(0, b.length - 6))) s += x.toString(16).padStart(2, '0');
  return s;
}
