/**
 * Reading extended attributes of host files. Node has no xattr API and we
 * want no native addon, so one python3 process answers for a whole batch of
 * paths (one spawn per scan, not per file): paths go in NUL-separated on
 * stdin, a length-prefixed binary stream comes back. Values are raw bytes,
 * so POSIX ACLs arrive in the kernel's binary xattr form, exactly what EROFS
 * stores. Symlinks are not followed (llistxattr/lgetxattr).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ErofsError } from '@erofs/format';

const HELPER = String.raw`
import os, struct, sys
paths = sys.stdin.buffer.read().split(b'\0')[:-1]
out = []
for p in paths:
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError as e:
        if e.errno in (61, 95):  # ENODATA, EOPNOTSUPP: no xattrs here
            out.append(struct.pack('>I', 0))
        else:
            out.append(struct.pack('>II', 0xffffffff, e.errno or 5))
        continue
    recs = []
    for n in sorted(names):
        try:
            v = os.getxattr(p, n, follow_symlinks=False)
        except OSError as e:
            if e.errno == 61:
                continue  # removed meanwhile
            recs = None
            out.append(struct.pack('>II', 0xffffffff, e.errno or 5))
            break
        nb = n.encode('utf-8', 'surrogateescape')
        recs.append(struct.pack('>H', len(nb)) + nb + struct.pack('>I', len(v)) + v)
    if recs is not None:
        out.append(struct.pack('>I', len(recs)))
        out.extend(recs)
sys.stdout.buffer.write(b''.join(out))
`;

/** xattrs of one path: full name -> value; or the errno that listing failed with. */
export type HostXattrs = Map<string, Uint8Array> | { errno: number };

/**
 * Reads every xattr of each path (raw-byte paths, symlinks not followed).
 * Resolves with one entry per path, in order.
 */
export async function readHostXattrs(paths: readonly Uint8Array[]): Promise<HostXattrs[]> {
  if (paths.length === 0) return [];
  let total = 0;
  for (const p of paths) total += p.length + 1;
  const input = Buffer.allocUnsafe(total);
  let o = 0;
  for (const p of paths) {
    input.set(p, o);
    o += p.length;
    input[o++] = 0;
  }
  const out = await runHelper(input);
  const res: HostXattrs[] = [];
  const dec = new TextDecoder();
  let i = 0;
  const need = (n: number): void => {
    if (i + n > out.length) throw new ErofsError('EIO', 'truncated answer from the xattr helper');
  };
  for (let k = 0; k < paths.length; k++) {
    need(4);
    const count = out.readUInt32BE(i);
    i += 4;
    if (count === 0xffffffff) {
      need(4);
      res.push({ errno: out.readUInt32BE(i) });
      i += 4;
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

let python: string | undefined;
/** The system interpreter first: version-manager shims (pyenv) add ~0.3 s per start. */
function pythonPath(): string {
  python ??= ['/usr/bin/python3', '/usr/local/bin/python3', '/bin/python3'].find((p) => existsSync(p)) ?? 'python3';
  return python;
}

function runHelper(input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // -S -E: no site module, no PYTHON* variables: a 10 ms start, same behaviour everywhere
    const child = spawn(pythonPath(), ['-S', '-E', '-c', HELPER], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) =>
      reject(new ErofsError('EOPNOTSUPP', `cannot read xattrs: python3 is needed (${e.message}); use -x -1 to build without xattrs`)),
    );
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new ErofsError('EIO', `xattr helper failed: ${Buffer.concat(err).toString('utf8').trim().split('\n').pop() ?? code}`));
      } else {
        resolve(Buffer.concat(out));
      }
    });
    child.stdin.on('error', () => {
      // reported through 'close'
    });
    child.stdin.end(input);
  });
}
