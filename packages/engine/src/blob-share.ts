/**
 * Blob sharing, after the fscache-era design that shared the page cache of
 * deduplicated chunks (never merged upstream): chunk-based files whose chunks
 * live in an extra device (a blob, named by its device-table tag) read through
 * one address space per (domain, tag), in blob byte coordinates. Two images
 * in the same domain that reference the same blob then cache each chunk once,
 * even when their files differ and only some chunks are common.
 *
 * Blobs are trusted by tag (the tag is usually the blob's digest); nothing
 * here hashes them.
 */
import type { BackingBlob } from './backing.js';
import type { AddressSpace, PageCache, ReadContext } from './page-cache.js';

/** One mount's source for a shared blob. */
export class BlobMember {
  live = true;
  constructor(readonly shared: SharedBlob, readonly mountId: number, readonly blob: BackingBlob) {}
}

/** The address space of one (domain, tag) blob, filled through any live member. */
export class SharedBlob {
  readonly members: BlobMember[] = [];
  constructor(readonly registry: BlobRegistry, readonly key: string, readonly domainId: string,
    readonly tag: string, readonly size: number, public space: AddressSpace) {}

  fill(first: number, count: number, ctx: ReadContext): Promise<Uint8Array> {
    const ps = this.space.pageSize;
    const pos = first * ps;
    const len = Math.min(this.size, (first + count) * ps) - pos;
    // The reading mount's own source when it is a member (readers pass their mount id), else the newest member.
    const req = ctx.requester;
    const m = (typeof req === 'number' ? this.members.find((x) => x.mountId === req) : undefined) ?? this.members[this.members.length - 1];
    if (m === undefined) return Promise.reject(new Error(`blob ${this.tag} has no live member`));
    return m.blob.read(pos, len);
  }
}

/** The table of shared blobs of one PageCache. */
export class BlobRegistry {
  private readonly byKey = new Map<string, SharedBlob>();

  constructor(readonly cache: PageCache) {}

  static of(cache: PageCache): BlobRegistry {
    return cache.registry('blob', (c) => new BlobRegistry(c));
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Joins the shared blob (domain, tag), or returns why not (a size clash). */
  join(domainId: string, mountId: number, blob: BackingBlob, pageSize: number): BlobMember | string {
    const key = JSON.stringify([domainId, blob.tag]);
    let shared = this.byKey.get(key);
    if (shared === undefined) {
      shared = new SharedBlob(this, key, domainId, blob.tag, blob.size, undefined as unknown as AddressSpace);
      const s = shared;
      shared.space = this.cache.createSpace(`blob#${this.cache.nextSerial()}:${domainId}:${blob.tag}`, 'blob', blob.size,
        (first, count, ctx) => s.fill(first, count, ctx), pageSize);
      this.byKey.set(key, shared);
    } else if (shared.size !== blob.size) {
      return `blob ${blob.tag} has ${blob.size} bytes here but ${shared.size} in the shared blob`;
    } else if (shared.space.pageSize !== pageSize) {
      return `page size ${pageSize} differs from the shared blob's ${shared.space.pageSize}`;
    }
    const m = new BlobMember(shared, mountId, blob);
    shared.members.push(m);
    shared.space.members = shared.members.length;
    return m;
  }

  /** The mount's source leaves; the last one frees the blob's pages. */
  leave(m: BlobMember): void {
    if (!m.live) return;
    m.live = false;
    const s = m.shared;
    const i = s.members.indexOf(m);
    if (i >= 0) s.members.splice(i, 1);
    s.space.members = s.members.length;
    if (s.members.length === 0) {
      this.cache.dropSpace(s.space);
      this.byKey.delete(s.key);
    }
  }
}
