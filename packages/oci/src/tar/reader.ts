/**
 * Streaming tar reader: ustar, pax ('x', 'g'), GNU long names ('L', 'K'),
 * base-256 numbers. One member at a time; a member's body is an async
 * iterable of views into the input chunks, so neither a member nor the
 * archive is ever held in memory.
 */
import { ByteReader, type ByteInput } from '../byte-reader.js';
import { corrupt, ErofsError, invalid } from '../errors.js';
import { BLOCK, decodeHeader, isZeroBlock, padding, type RawHeader } from './header.js';
import { mergePax, parsePax, type PaxRecords, type Timestamp } from './pax.js';

export type { Timestamp } from './pax.js';

/** Member kinds after pax/GNU records are folded in. */
export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'chardev' | 'blockdev' | 'dir' | 'fifo';

/** One archive member, with pax and GNU overrides already applied. */
export interface TarEntry {
  type: TarEntryType;
  /** The member name as raw bytes, exactly as archived (not normalised). */
  path: Uint8Array;
  /** Hard link or symlink target, raw bytes. */
  linkpath: Uint8Array | undefined;
  /** Permission bits (low 12 bits of the mode field). */
  mode: number;
  uid: number;
  gid: number;
  mtime: Timestamp;
  /** Body size in bytes as archived (normally 0 for everything but regular files). */
  size: number;
  devmajor: number;
  devminor: number;
  /** Full xattr name -> value. */
  xattrs: Map<string, Uint8Array>;
  /** Offset of the header block (the first pax/GNU prefix member) in the tar stream. */
  headerOffset: number;
  /** Offset of the body in the tar stream (where `--tar=i` index mode points). */
  dataOffset: number;
  /**
   * The body, readable once. It must be drained or skipped before asking the
   * reader for the next member; if the consumer moves on without doing so the
   * reader skips what is left.
   */
  body: AsyncIterable<Uint8Array>;
  /** Discards the (rest of the) body. */
  skip(): Promise<void>;
}

/** Reader options. */
export interface TarReadOptions {
  /** Names the stream in errors (a file name or a layer digest). */
  where?: string;
  /**
   * Accept an input that ends on a member boundary without the two zero
   * blocks. Off by default: a missing end marker is how a truncated tar looks.
   */
  allowMissingEnd?: boolean;
  /** Largest pax or GNU long-name body held in memory (default 16 MiB). */
  maxMetaSize?: number;
  /** Called for oddities that are skipped rather than refused. */
  onWarning?: (message: string, where: string) => void;
}

/** A printable rendering of a raw path for error messages. */
export function showPath(p: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: false }).decode(p);
}

/** Strips trailing slashes (a directory's name in ustar carries one). */
function trimSlashes(p: Uint8Array): Uint8Array {
  let n = p.length;
  while (n > 1 && p[n - 1] === 0x2f) n--;
  return p.subarray(0, n);
}

/**
 * Reads a tar stream member by member. Back-pressure: the input is pulled only
 * while the consumer pulls members or body chunks. After the end marker the
 * rest of the input is read and dropped, so a digest-checking source sees all
 * of its bytes.
 */
export async function* readTar(input: ByteInput, opts: TarReadOptions = {}): AsyncGenerator<TarEntry, void, undefined> {
  const src = new ByteReader(input);
  const where = opts.where ?? 'tar';
  const maxMeta = opts.maxMetaSize ?? 16 << 20;
  let global: PaxRecords = { xattrs: new Map() };
  let ok = false;
  try {
    for (;;) {
      const entry = await nextEntry();
      if (entry === null) break;
      let state: 'idle' | 'reading' | 'done' = 'idle';
      let left = entry.size;
      const pad = padding(entry.size);
      const label = showPath(entry.path);
      const finishBody = async (): Promise<void> => {
        if (state === 'done') return;
        state = 'done';
        const want = left + pad;
        const got = await src.skip(want);
        left = 0;
        if (got < want) throw corrupt('truncated tar: member body runs past the end of the input', label);
      };
      const body: AsyncIterable<Uint8Array> = {
        [Symbol.asyncIterator]: async function* () {
          if (state !== 'idle') throw invalid('tar member body read twice', label);
          state = 'reading';
          try {
            while (left > 0) {
              const c = await src.readSome(left);
              if (c === null) throw corrupt('truncated tar: member body runs past the end of the input', label);
              left -= c.length;
              yield c;
            }
          } finally {
            // A consumer that stops early leaves the rest for the reader to skip.
            if (state === 'reading') state = 'idle';
          }
          await finishBody();
        },
      };
      yield { ...entry, body, skip: finishBody };
      if ((state as string) === 'reading') throw invalid('tar reader advanced while a member body was still being read', label);
      await finishBody();
    }
    ok = true;
  } finally {
    if (!ok) await src.close().catch(() => undefined);
  }

  /** Reads one block; null at a clean end of input, error on a partial block. */
  async function block(atWhat: string): Promise<Uint8Array | null> {
    const off = src.position;
    const b = await src.readExact(BLOCK);
    if (b.length === 0) return null;
    if (b.length < BLOCK) throw corrupt(`truncated tar: partial ${atWhat} block at offset ${off}`, where);
    return b;
  }

  /** Reads a small metadata body (pax records, GNU long names). */
  async function metaBody(h: RawHeader, off: number): Promise<Uint8Array> {
    if (h.size > maxMeta) throw corrupt(`tar metadata member of ${h.size} bytes is too large`, `${where} offset ${off}`);
    const b = await src.readExact(h.size);
    if (b.length < h.size) throw corrupt('truncated tar: metadata member runs past the end of the input', `${where} offset ${off}`);
    if ((await src.skip(padding(h.size))) < padding(h.size)) throw corrupt('truncated tar: missing padding', `${where} offset ${off}`);
    return new Uint8Array(b);
  }

  async function nextEntry(): Promise<Omit<TarEntry, 'body' | 'skip'> | null> {
    let local: PaxRecords | null = null;
    let longName: Uint8Array | null = null;
    let longLink: Uint8Array | null = null;
    let firstOffset = -1;
    for (;;) {
      const off = src.position;
      const b = await block('header');
      if (b === null) {
        if (firstOffset >= 0) throw corrupt('truncated tar: extended header without its member', `${where} offset ${firstOffset}`);
        if (opts.allowMissingEnd) return null;
        throw corrupt('truncated tar: input ends without the end-of-archive marker', where);
      }
      if (isZeroBlock(b)) {
        if (firstOffset >= 0) throw corrupt('extended header followed by the end of the archive', `${where} offset ${firstOffset}`);
        // GNU tar writes two zero blocks; one is accepted (some writers stop there).
        await src.drain();
        return null;
      }
      if (firstOffset < 0) firstOffset = off;
      const h = decodeHeader(b, `${where} offset ${off}`);
      switch (h.typeflag) {
        case 'x':
          local = mergePax(local ?? { xattrs: new Map() }, parsePax(await metaBody(h, off), `${where} offset ${off}`));
          continue;
        case 'g':
          global = mergePax(global, parsePax(await metaBody(h, off), `${where} offset ${off}`));
          // Per-member keys make no sense as defaults for every later member.
          delete global.path;
          delete global.linkpath;
          delete global.size;
          // A global header stands alone; it does not prefix the next member.
          if (local === null && longName === null && longLink === null) firstOffset = -1;
          continue;
        case 'L':
          longName = cutNul(await metaBody(h, off));
          continue;
        case 'K':
          longLink = cutNul(await metaBody(h, off));
          continue;
      }
      const pax = local ? mergePax(global, local) : global;
      const e = finish(h, pax, longName, longLink, firstOffset, off);
      if (e !== null) return e;
      const n = h.size + padding(h.size);
      if ((await src.skip(n)) < n) throw corrupt('truncated tar: member body runs past the end of the input', `${where} offset ${off}`);
      local = null;
      longName = longLink = null;
      firstOffset = -1;
    }
  }

  function finish(h: RawHeader, pax: PaxRecords, longName: Uint8Array | null, longLink: Uint8Array | null,
    headerOffset: number, off: number): Omit<TarEntry, 'body' | 'skip'> | null {
    // Global 'path' records make no sense for a stream of members; only a local one counts.
    const path = trimSlashes(pax.path ?? longName ?? h.name);
    const label = showPath(path);
    if (path.includes(0)) throw invalid('NUL byte in tar member name', label);
    if (path.length === 0) throw invalid('empty tar member name', `${where} offset ${off}`);
    const linkpath = pax.linkpath ?? longLink ?? (h.linkname.length ? h.linkname : undefined);
    if (linkpath?.includes(0)) throw invalid('NUL byte in tar link target', label);
    const size = pax.size ?? h.size;
    let type: TarEntryType;
    switch (h.typeflag) {
      case '0': case '7':
        // v7 archives mark directories by a trailing slash on a regular member.
        type = h.format === 'v7' && (pax.path ?? longName ?? h.name).at(-1) === 0x2f ? 'dir' : 'file';
        break;
      case '1': type = 'hardlink'; break;
      case '2': type = 'symlink'; break;
      case '3': type = 'chardev'; break;
      case '4': type = 'blockdev'; break;
      case '5': case 'D': type = 'dir'; break;
      case '6': type = 'fifo'; break;
      case 'S':
        throw new ErofsError('EOPNOTSUPP', 'GNU sparse tar members are not supported', label);
      case 'M': case 'N':
        throw new ErofsError('EOPNOTSUPP', `GNU multi-volume tar member (type ${h.typeflag}) is not supported`, label);
      default: {
        // POSIX says unknown types read as regular files; mkfs.erofs skips them.
        // We skip as well (a volume label 'V' is the common case) and say so.
        opts.onWarning?.(`skipping tar member of unknown type ${JSON.stringify(h.typeflag)}`, label);
        return null;
      }
    }
    if ((type === 'hardlink' || type === 'symlink') && (!linkpath || linkpath.length === 0)) {
      throw corrupt(`tar ${type} without a target`, label);
    }
    const dataOffset = src.position;
    // Only regular files own data; a body on anything else (a hard link
    // written by star, a dir's GNU dumpdir list) is skipped, not content.
    const mtime = pax.mtime ?? { sec: h.mtime, nsec: 0 };
    const xattrs = new Map<string, Uint8Array>();
    for (const [k, v] of pax.xattrs) if (v !== null) xattrs.set(k, v);
    return {
      type,
      path,
      linkpath: type === 'hardlink' || type === 'symlink' ? linkpath : undefined,
      mode: h.mode & 0o7777,
      uid: pax.uid ?? h.uid,
      gid: pax.gid ?? h.gid,
      mtime,
      size,
      devmajor: pax.devmajor ?? h.devmajor,
      devminor: pax.devminor ?? h.devminor,
      xattrs,
      headerOffset,
      dataOffset,
    };
  }

}

function cutNul(b: Uint8Array): Uint8Array {
  const z = b.indexOf(0);
  return trimSlashes(z < 0 ? b : b.subarray(0, z));
}
