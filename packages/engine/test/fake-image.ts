/**
 * In-memory BackingImage for engine tests: files from a spec, fingerprints
 * computed or forged, chunk-based files over tagged blobs, and counters of
 * every backing read (a "decompression" for compressed files).
 */
import { ErofsError } from '@erofs/format';
import { sha256, type BackingBlob, type BackingDirent, type BackingExtent, type BackingFile, type BackingImage, type ReadPath } from '@erofs/engine';

export interface FakeFileSpec {
  /** Content (or use `chunks`). */
  data?: Uint8Array;
  /** 'auto' (default when the image has ishare): sha256: + digest of data; null: none; bytes: forged/custom. */
  fingerprint?: Uint8Array | 'auto' | null;
  readPath?: ReadPath;
  /** Chunk-based over blobs: each chunk is [deviceId, pa] or 'hole'. */
  chunks?: Array<[number, number] | 'hole'>;
  chunkSize?: number;
  /** Another path this one is a hard link of. */
  linkOf?: string;
}

export interface FakeImageSpec {
  blockSize?: number;
  compatIshare?: boolean;
  files: Record<string, FakeFileSpec>;
  blobs?: Array<{ tag: string; data: Uint8Array }>;
  /** Milliseconds each backing read takes (0: resolves on a later macrotask). */
  latencyMs?: number;
}

export interface FakeStat {
  nid: number;
  mode: number;
  size: number;
}

const enc = new TextEncoder();

/** sha256: followed by the 32 raw digest bytes, as mkfs.erofs writes it. */
export function fingerprintOf(data: Uint8Array): Uint8Array {
  const fp = new Uint8Array(7 + 32);
  fp.set(enc.encode('sha256:'), 0);
  fp.set(sha256(data), 7);
  return fp;
}

/** Deterministic pseudo-random bytes. */
export function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

export class FakeImage implements BackingImage<FakeStat> {
  readonly blockSize: number;
  readonly compatIshare: boolean;
  readonly blobs: BackingBlob[];
  /** Backing reads of file data (each one a decompression for compressed files). */
  reads = 0;
  readBytes = 0;
  /** Reads per path. */
  readonly readsByPath = new Map<string, number>();
  blobReads = 0;
  private readonly files = new Map<string, BackingFile & { path: string; nid: number }>();
  private readonly dirs = new Map<string, BackingDirent[]>();
  private readonly latency: number;

  constructor(spec: FakeImageSpec) {
    this.blockSize = spec.blockSize ?? 4096;
    this.compatIshare = spec.compatIshare ?? true;
    this.latency = spec.latencyMs ?? 0;
    this.blobs = (spec.blobs ?? []).map((b) => ({
      tag: b.tag,
      size: b.data.length,
      read: async (pos: number, len: number) => {
        await this.delay();
        this.blobReads++;
        return b.data.slice(pos, Math.min(b.data.length, pos + len));
      },
    }));
    this.dirs.set('/', []);
    let nid = 100;
    for (const [path, f] of Object.entries(spec.files)) {
      this.mkdirs(path);
      if (f.linkOf) {
        const target = this.files.get(f.linkOf)!;
        this.files.set(path, target);
        this.dirs.get(parent(path))!.push({ name: base(path), type: 'file', nid: target.nid });
        continue;
      }
      const myNid = nid++;
      const data = f.chunks ? this.assemble(spec, f) : (f.data ?? new Uint8Array(0));
      const fp = f.fingerprint === undefined || f.fingerprint === 'auto' ? fingerprintOf(data) : f.fingerprint;
      const file: BackingFile & { path: string; nid: number } = {
        path, nid: myNid, key: String(myNid), size: data.length, isRegular: true,
        readPath: f.readPath ?? 'plain', fingerprint: fp,
        read: async (pos: number, len: number) => {
          await this.delay();
          this.reads++;
          this.readsByPath.set(path, (this.readsByPath.get(path) ?? 0) + 1);
          const out = data.slice(pos, Math.min(data.length, pos + len));
          this.readBytes += out.length;
          return out;
        },
      };
      if (f.chunks) {
        const cs = f.chunkSize ?? this.blockSize;
        const chunks = f.chunks;
        file.mapExtent = async (pos: number): Promise<BackingExtent> => {
          const i = Math.floor(pos / cs);
          const c = chunks[i]!;
          const la = i * cs;
          const llen = Math.min(cs, data.length - la);
          return c === 'hole' ? { la, llen, deviceId: 0, pa: 0, hole: true } : { la, llen, deviceId: c[0], pa: c[1] };
        };
      }
      this.files.set(path, file);
      this.dirs.get(parent(path))!.push({ name: base(path), type: 'file', nid: myNid });
    }
  }

  private assemble(spec: FakeImageSpec, f: FakeFileSpec): Uint8Array {
    const cs = f.chunkSize ?? this.blockSize;
    const out = new Uint8Array(f.chunks!.length * cs);
    f.chunks!.forEach((c, i) => {
      if (c !== 'hole') out.set(spec.blobs![c[0] - 1]!.data.subarray(c[1], c[1] + cs), i * cs);
    });
    return out;
  }

  private mkdirs(path: string): void {
    const p = parent(path);
    if (this.dirs.has(p)) return;
    this.mkdirs(p);
    this.dirs.set(p, []);
    this.dirs.get(parent(p))!.push({ name: base(p), type: 'directory', nid: 1 + this.dirs.size });
  }

  private delay(): Promise<void> {
    return new Promise((r) => setTimeout(r, this.latency));
  }

  file(path: string): BackingFile & { path: string; nid: number } {
    const f = this.files.get(path);
    if (!f) throw new ErofsError('ENOENT', 'no such file', path);
    return f;
  }

  async stat(path: string): Promise<FakeStat> {
    if (this.dirs.has(path)) return { nid: 1, mode: 0o40755, size: 0 };
    const f = this.file(path);
    return { nid: f.nid, mode: 0o100644, size: f.size };
  }
  lstat(path: string): Promise<FakeStat> { return this.stat(path); }
  async readdir(path: string): Promise<BackingDirent[]> {
    const d = this.dirs.get(path);
    if (!d) throw new ErofsError(this.files.has(path) ? 'ENOTDIR' : 'ENOENT', 'cannot readdir', path);
    return d;
  }
  async readlink(path: string): Promise<string> { throw new ErofsError('EINVAL', 'not a symlink', path); }
  async getxattr(path: string, name: string): Promise<Uint8Array> {
    const f = this.file(path);
    if (name === 'trusted.erofs.fingerprint' && f.fingerprint) return f.fingerprint;
    throw new ErofsError('ENODATA', `no xattr ${name}`, path);
  }
  async listxattr(path: string): Promise<string[]> { return this.file(path).fingerprint ? ['trusted.erofs.fingerprint'] : []; }
  async openFile(path: string): Promise<BackingFile> {
    if (this.dirs.has(path)) throw new ErofsError('EISDIR', 'is a directory', path);
    return this.file(path);
  }
}

function parent(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}
function base(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}
