/**
 * Reading extended attributes of host files. Node has no xattr API and we
 * want no native addon, so one python3 process answers for a whole scan
 * (one spawn per scan, not per file). Paths stream in NUL-separated on stdin
 * while the caller walks the tree, and the helper works through them as they
 * arrive, so its time hides behind the walk's; a length-prefixed binary
 * stream comes back. Values are raw bytes, so POSIX ACLs arrive in the
 * kernel's binary xattr form, exactly what EROFS stores. Symlinks are not
 * followed (llistxattr/lgetxattr).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { ErofsError } from '@erofs/format';

const HELPER = String.raw`
import os, struct, sys
out = sys.stdout.buffer
EMPTY = struct.pack('>I', 0)
def one(p, res):
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError as e:
        if e.errno in (61, 95):  # ENODATA, EOPNOTSUPP: no xattrs here
            res.append(EMPTY)
        else:
            res.append(struct.pack('>III', 0xffffffff, e.errno or 5, len(p)) + p)
        return
    if not names:
        res.append(EMPTY)
        return
    recs = []
    for n in sorted(names):
        try:
            v = os.getxattr(p, n, follow_symlinks=False)
        except OSError as e:
            if e.errno == 61:
                continue  # removed meanwhile
            res.append(struct.pack('>III', 0xffffffff, e.errno or 5, len(p)) + p)
            return
        nb = n.encode('utf-8', 'surrogateescape')
        recs.append(struct.pack('>H', len(nb)) + nb + struct.pack('>I', len(v)) + v)
    res.append(struct.pack('>I', len(recs)))
    res.extend(recs)
pend = b''
while True:
    chunk = os.read(0, 1 << 16)
    if not chunk:
        break
    parts = (pend + chunk).split(b'\0')
    pend = parts.pop()
    res = []
    for p in parts:
        one(p, res)
    out.write(b''.join(res))
out.flush()
`;

/** xattrs of one path: full name -> value; or the errno that listing failed with (and the path). */
export type HostXattrs = Map<string, Uint8Array> | { errno: number; path?: string };

let python: string | undefined;
/** The system interpreter first: version-manager shims (pyenv) add ~0.3 s per start. */
function pythonPath(): string {
  python ??= ['/usr/bin/python3', '/usr/local/bin/python3', '/bin/python3'].find((p) => existsSync(p)) ?? 'python3';
  return python;
}

const PIECE = 64 << 10;

/**
 * One helper process for many paths: {@link push} paths as they are found
 * (they are sent in 64 KiB pieces and answered while the caller goes on),
 * then {@link finish} resolves with one entry per path, in order. Call
 * {@link cancel} when giving up before finish.
 */
export class HostXattrReader {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private readonly out: Buffer[] = [];
  private readonly err: Buffer[] = [];
  private readonly done: Promise<Buffer>;
  private piece = Buffer.allocUnsafe(PIECE);
  private used = 0;
  private count = 0;
  private ended = false;

  constructor() {
    // -S -E: no site module, no PYTHON* variables: a 10 ms start, same behaviour everywhere
    this.child = spawn(pythonPath(), ['-S', '-E', '-c', HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.done = new Promise((resolve, reject) => {
      this.child.stdout.on('data', (b: Buffer) => this.out.push(b));
      this.child.stderr.on('data', (b: Buffer) => this.err.push(b));
      this.child.on('error', (e) =>
        reject(new ErofsError('EOPNOTSUPP', `cannot read xattrs: python3 is needed (${e.message}); use -x -1 to build without xattrs`)),
      );
      this.child.on('close', (code) => {
        if (code !== 0) {
          reject(new ErofsError('EIO', `xattr helper failed: ${Buffer.concat(this.err).toString('utf8').trim().split('\n').pop() ?? code}`));
        } else {
          resolve(Buffer.concat(this.out));
        }
      });
    });
    this.done.catch(() => undefined); // observed by finish
    this.child.stdin.on('error', () => {
      // reported through 'close'
    });
  }

  /** Queues one path (raw bytes, no NUL inside). */
  push(path: Uint8Array): void {
    this.count++;
    if (this.used + path.length + 1 > this.piece.length) this.send();
    if (path.length + 1 > this.piece.length) {
      const b = Buffer.allocUnsafe(path.length + 1);
      b.set(path);
      b[path.length] = 0;
      this.child.stdin.write(b);
      return;
    }
    this.piece.set(path, this.used);
    this.used += path.length;
    this.piece[this.used++] = 0;
  }

  private send(): void {
    if (this.used === 0) return;
    this.child.stdin.write(this.piece.subarray(0, this.used));
    this.piece = Buffer.allocUnsafe(PIECE);
    this.used = 0;
  }

  /** The answers, one per pushed path, in push order. */
  async finish(): Promise<HostXattrs[]> {
    this.send();
    this.ended = true;
    this.child.stdin.end();
    const out = await this.done;
    return parseAnswers(out, this.count);
  }

  /** Stops the helper (after a failure elsewhere). */
  cancel(): void {
    if (this.ended && this.child.exitCode !== null) return;
    this.ended = true;
    this.child.stdin.destroy();
    this.child.kill();
  }
}

/** An empty answer, shared: callers must not modify it. */
const NONE: Map<string, Uint8Array> = new Map();

function parseAnswers(out: Buffer, n: number): HostXattrs[] {
  const res: HostXattrs[] = [];
  const dec = new TextDecoder();
  let i = 0;
  const need = (k: number): void => {
    if (i + k > out.length) throw new ErofsError('EIO', 'truncated answer from the xattr helper');
  };
  for (let k = 0; k < n; k++) {
    need(4);
    const count = out.readUInt32BE(i);
    i += 4;
    if (count === 0) {
      res.push(NONE);
      continue;
    }
    if (count === 0xffffffff) {
      need(8);
      const errno = out.readUInt32BE(i);
      const pl = out.readUInt32BE(i + 4);
      i += 8;
      need(pl);
      res.push({ errno, path: out.toString('utf8', i, i + pl) });
      i += pl;
      continue;
    }
    const m = new Map<string, Uint8Array>();
    for (let j = 0; j < count; j++) {
      need(2);
      const nl = out.readUInt16BE(i);
      i += 2;
      need(nl + 4);
      const name = dec.decode(out.subarray(i, i + nl));
      i += nl;
      const vl = out.readUInt32BE(i);
      i += 4;
      need(vl);
      m.set(name, new Uint8Array(out.subarray(i, i + vl)));
      i += vl;
    }
    res.push(m);
  }
  return res;
}

/**
 * Reads every xattr of each path (raw-byte paths, symlinks not followed).
 * Resolves with one entry per path, in order.
 */
export async function readHostXattrs(paths: readonly Uint8Array[]): Promise<HostXattrs[]> {
  if (paths.length === 0) return [];
  const r = new HostXattrReader();
  try {
    for (const p of paths) r.push(p);
    const got = await r.finish();
    // callers own their maps
    return got.map((g) => (g === NONE ? new Map() : g));
  } finally {
    r.cancel();
  }
}
