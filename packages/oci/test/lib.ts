// Test helpers: a tiny tar encoder for hand-made (and hostile) archives, a
// WriteData that hashes content, and a tree flattener for comparisons.
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import type { FileData, InodeNode, WriteData } from '../src/index.js';

const enc = new TextEncoder();

export interface MemberSpec {
  name: string | Uint8Array;
  type?: string; // typeflag, default '0'
  body?: Uint8Array | string;
  /** Override the size field (for "size beyond the stream"). */
  size?: number;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** pax records to put in an 'x' header before this member. */
  pax?: Record<string, string | Uint8Array>;
  /** Corrupt the checksum. */
  badChecksum?: boolean;
}

function octal(b: Uint8Array, off: number, len: number, v: number): void {
  const s = v.toString(8).padStart(len - 1, '0');
  for (let i = 0; i < len - 1; i++) b[off + i] = s.charCodeAt(i);
  b[off + len - 1] = 0;
}

function header(m: MemberSpec, size: number): Uint8Array {
  const b = new Uint8Array(512);
  const name = typeof m.name === 'string' ? enc.encode(m.name) : m.name;
  b.set(name.subarray(0, 100), 0);
  octal(b, 100, 8, m.mode ?? 0o644);
  octal(b, 108, 8, m.uid ?? 0);
  octal(b, 116, 8, m.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, m.mtime ?? 1_700_000_000);
  b[156] = (m.type ?? '0').charCodeAt(0);
  if (m.linkname) b.set(enc.encode(m.linkname).subarray(0, 100), 157);
  b.set(enc.encode('ustar\x0000'), 257);
  octal(b, 329, 8, m.devmajor ?? 0);
  octal(b, 337, 8, m.devminor ?? 0);
  for (let i = 148; i < 156; i++) b[i] = 0x20;
  let sum = 0;
  for (const c of b) sum += c;
  octal(b, 148, 7, sum);
  b[155] = 0x20;
  if (m.badChecksum) b[148] = 0x37;
  return b;
}

function pad(n: number): Uint8Array {
  return new Uint8Array((512 - (n % 512)) % 512);
}

/** Encodes pax records ("LEN key=value\n"). */
export function paxBody(recs: Record<string, string | Uint8Array>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of Object.entries(recs)) {
    const kv = concat([enc.encode(` ${k}=`), typeof v === 'string' ? enc.encode(v) : v, enc.encode('\n')]);
    let len = kv.length + 1;
    while (String(len).length + kv.length !== len) len = String(len).length + kv.length;
    parts.push(concat([enc.encode(String(len)), kv]));
  }
  return concat(parts);
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const n = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Builds a tar in memory; `end: false` leaves out the end-of-archive blocks. */
export function makeTar(members: MemberSpec[], opts: { end?: boolean } = {}): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const m of members) {
    if (m.pax) {
      const pb = paxBody(m.pax);
      parts.push(header({ name: 'PaxHeaders/x', type: 'x' }, pb.length), pb, pad(pb.length));
    }
    const body = typeof m.body === 'string' ? enc.encode(m.body) : (m.body ?? new Uint8Array(0));
    parts.push(header(m, m.size ?? body.length), body, pad(body.length));
  }
  if (opts.end !== false) parts.push(new Uint8Array(1024));
  return concat(parts);
}

/** Splits bytes into small chunks, to exercise reads that straddle chunks. */
export function* chunked(b: Uint8Array, size = 97): Iterable<Uint8Array> {
  for (let o = 0; o < b.length; o += size) yield b.subarray(o, Math.min(b.length, o + size));
}

/** A WriteData that drains the body and records its sha256 (what the writer would store). */
export function hashingWriter(): WriteData & { calls: string[] } {
  const calls: string[] = [];
  const f = async (body: AsyncIterable<Uint8Array>, size: number, path: string): Promise<FileData> => {
    const h = createHash('sha256');
    let n = 0;
    for await (const c of body) {
      h.update(c);
      n += c.length;
    }
    if (n !== size) throw new Error(`writeData got ${n} bytes, expected ${size}`);
    calls.push(path);
    return { kind: 'written', handle: { sha256: h.digest('hex'), size: n } };
  };
  return Object.assign(f, { calls });
}

/** One line per path: the comparable facts of a tree built by this package. */
export function describeTree(root: InodeNode): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  const td = new TextDecoder();
  const visit = (n: InodeNode, path: string): void => {
    const rec: Record<string, unknown> = {
      type: n.type, mode: n.mode.toString(8), uid: n.uid, gid: n.gid,
      mtime: `${n.mtime.sec}.${String(n.mtime.nsec).padStart(9, '0')}`,
    };
    if (n.type === 'file') {
      const d = n.data;
      rec.sha256 = d?.kind === 'written' ? (d.handle as { sha256: string }).sha256
        : d?.kind === 'bytes' ? createHash('sha256').update(d.bytes).digest('hex') : 'MISSING';
    }
    if (n.type === 'symlink') rec.target = td.decode(n.target);
    if (n.rdev) rec.rdev = `${n.rdev.major}:${n.rdev.minor}`;
    const x = [...n.xattrs].filter(([k]) => k.startsWith('user.') || k.startsWith('trusted.')).sort(([a], [b]) => (a < b ? -1 : 1));
    if (x.length) rec.xattrs = x.map(([k, v]) => `${k}=${Buffer.from(v).toString('hex')}`).join(',');
    out.set(path, rec);
    if (n.entries) for (const [, e] of n.entries) visit(e.node, path === '/' ? '/' + td.decode(e.name) : path + '/' + td.decode(e.name));
  };
  visit(root, '/');
  return out;
}

/** True when `cmd` runs. */
export function have(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Runs a command, failing with its stderr. */
export function run(cmd: string, args: string[], opts: { cwd?: string; input?: Uint8Array } = {}): Buffer {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, input: opts.input, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString()}`);
  return r.stdout;
}
