/**
 * Indexes an uncompressed tar held in a random-access source: one pass over
 * the headers only (each body is jumped over, not read), giving every
 * member's name, body offset and size. OCI and docker archives are read this
 * way, so their blobs are streamed straight from the archive, never extracted.
 */
import { corrupt } from '../errors.js';
import type { RandomAccess } from '../oci/random-access.js';
import { BLOCK, decodeHeader, isZeroBlock, padding } from './header.js';
import { parsePax } from './pax.js';

/** One member of an indexed tar. */
export interface TarMember {
  /** Normalised name: no leading './' or '/', no trailing '/'. */
  name: string;
  typeflag: string;
  /** Offset of the body in the archive. */
  offset: number;
  size: number;
  /** Hard link target (normalised), for members stored as links. */
  linkname?: string;
}

const utf8 = new TextDecoder();

function norm(p: string): string {
  return p.split('/').filter((c) => c !== '' && c !== '.').join('/');
}

/** Reads every header of the tar in `src`; later duplicates replace earlier ones. */
export async function indexTar(src: RandomAccess, where: string): Promise<Map<string, TarMember>> {
  const out = new Map<string, TarMember>();
  let off = 0;
  let longName: string | null = null;
  let longLink: string | null = null;
  let paxPath: string | null = null;
  let paxLink: string | null = null;
  let paxSize: number | null = null;
  for (;;) {
    if (off + BLOCK > src.size) throw corrupt('truncated tar: input ends without the end-of-archive marker', where);
    const b = await src.read(off, BLOCK);
    if (isZeroBlock(b)) return out;
    const h = decodeHeader(b, `${where} offset ${off}`);
    const bodyOff = off + BLOCK;
    const size = paxSize ?? h.size;
    if (bodyOff + size > src.size) throw corrupt('truncated tar: member body runs past the end of the input', `${where} offset ${off}`);
    const next = bodyOff + size + padding(size);
    const meta = async (): Promise<Uint8Array> => {
      if (h.size > 16 << 20) throw corrupt('tar metadata member too large', `${where} offset ${off}`);
      return src.read(bodyOff, h.size);
    };
    switch (h.typeflag) {
      case 'x': {
        const p = parsePax(await meta(), `${where} offset ${off}`);
        if (p.path) paxPath = utf8.decode(p.path);
        if (p.linkpath) paxLink = utf8.decode(p.linkpath);
        if (typeof p.size === 'number') paxSize = p.size;
        off = bodyOff + h.size + padding(h.size);
        continue;
      }
      case 'g':
        off = bodyOff + h.size + padding(h.size);
        continue;
      case 'L': case 'K': {
        const raw = await meta();
        const z = raw.indexOf(0);
        const s = utf8.decode(z < 0 ? raw : raw.subarray(0, z));
        if (h.typeflag === 'L') longName = s; else longLink = s;
        off = bodyOff + h.size + padding(h.size);
        continue;
      }
    }
    const name = norm(paxPath ?? longName ?? utf8.decode(h.name));
    const link = paxLink ?? longLink ?? (h.linkname.length ? utf8.decode(h.linkname) : undefined);
    // Symlink targets are relative to the member's directory (docker save
    // links repeated layers that way); hard link targets are archive paths.
    const dir = name.includes('/') ? name.slice(0, name.lastIndexOf('/') + 1) : '';
    const target = link === undefined ? undefined : h.typeflag === '2' && !link.startsWith('/') ? resolveDots(dir + link) : norm(link);
    out.set(name, { name, typeflag: h.typeflag, offset: bodyOff, size, linkname: target });
    longName = longLink = paxPath = paxLink = null;
    paxSize = null;
    off = next;
  }
}

function resolveDots(p: string): string {
  const out: string[] = [];
  for (const c of p.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out.join('/');
}

/** Follows hard-link and symlink members to the member that holds the bytes. */
export function resolveMember(index: Map<string, TarMember>, name: string): TarMember | undefined {
  let m = index.get(norm(name));
  const isLink = (t: TarMember): boolean => t.typeflag === '1' || t.typeflag === '2';
  for (let hops = 0; m && isLink(m) && hops < 16; hops++) m = m.linkname ? index.get(m.linkname) : undefined;
  return m && !isLink(m) && (m.typeflag === '0' || m.typeflag === '7') ? m : undefined;
}
