/**
 * Local OCI sources: an image layout directory (`DIR[:REF]`), an oci-archive
 * (the same layout inside an uncompressed tar) and a docker-archive (`docker
 * save`: manifest.json, a config and layer tars). Archives are indexed once
 * and their members streamed by offset; every blob is verified while read.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { decompress } from '../decompress.js';
import { ErofsError, corrupt, invalid } from '../errors.js';
import { indexTar, resolveMember, type TarMember } from '../tar/index-tar.js';
import { parseDigest, verifyDigest } from './digest.js';
import { FileRandomAccess, type RandomAccess } from './random-access.js';

/** One layer, in manifest order (lowest first). */
export interface OciLayer {
  /** Digest of the blob as stored (compressed). */
  digest: string;
  /** Digest of the uncompressed tar (config rootfs.diff_ids), when known. */
  diffId: string | undefined;
  mediaType: string;
  /** Stored size in bytes. */
  size: number;
  /**
   * A fresh stream of the uncompressed layer tar. The blob digest (and the
   * diff_id, when the config gives one) is checked as the bytes pass; a
   * mismatch fails the stream at its end, naming the digest. Can be opened
   * again (a second pass re-reads the blob).
   */
  open(): AsyncIterable<Uint8Array>;
  /**
   * Where the stored blob's bytes lie on disk: the blob file of a layout
   * (offset 0) or the archive holding it (the member's body offset). Index
   * mode (`--oci=i`) refers to layer data there.
   */
  locate(): Promise<BlobLocation>;
}

/** A stored blob's place in a local file (see {@link OciLayer.locate}). */
export interface BlobLocation {
  /** The file holding the blob: the blob file itself or the whole archive. */
  file: string;
  /** Offset of the blob's first byte in `file`. */
  offset: number;
  /** Size of the blob. */
  size: number;
  /** Size of `file`. */
  fileSize: number;
  /** The first bytes of the blob (up to 4), to tell compressed blobs apart. */
  magic: Uint8Array;
}

/** An opened image: its layers and parsed JSON documents. */
export interface OciImage {
  kind: 'oci-layout' | 'oci-archive' | 'docker-archive';
  manifest: unknown;
  config: unknown;
  layers: OciLayer[];
  close(): Promise<void>;
}

/** Options of {@link openImage}. */
export interface OpenImageOptions {
  /** "os/arch[/variant]" to pick from an image index; default linux/<this machine>. */
  platform?: string;
  /** Largest JSON document read (index, manifest, config); default 8 MiB. */
  maxJsonSize?: number;
}

const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
};

/** Layer media types we can unpack: plain, gzip or zstd tars (OCI and Docker spellings). */
const LAYER_TYPES = new Set([
  'application/vnd.oci.image.layer.v1.tar',
  'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  'application/vnd.docker.image.rootfs.diff.tar',
  'application/vnd.docker.image.rootfs.diff.tar.gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
]);

/** Where blobs come from: a directory or members of an archive. */
interface BlobStore {
  /** Raw (still compressed) bytes of a stored blob, unverified. */
  stream(path: string, where: string): Promise<{ size: number; body: AsyncIterable<Uint8Array> }>;
  exists(path: string): Promise<boolean>;
  locate(path: string, where: string): Promise<BlobLocation>;
  close(): Promise<void>;
}

function dirStore(dir: string): BlobStore {
  return {
    async stream(path, where) {
      let ra: FileRandomAccess;
      try {
        ra = await FileRandomAccess.open(join(dir, path));
      } catch (e) {
        throw new ErofsError('ENOENT', `missing blob ${path}: ${(e as Error).message}`, where);
      }
      const size = ra.size;
      async function* body(): AsyncIterable<Uint8Array> {
        try {
          yield* ra.stream(0, size);
        } finally {
          await ra.close();
        }
      }
      return { size, body: body() };
    },
    async exists(path) {
      return stat(join(dir, path)).then((s) => s.isFile(), () => false);
    },
    async locate(path, where) {
      const file = join(dir, path);
      let ra: FileRandomAccess;
      try {
        ra = await FileRandomAccess.open(file);
      } catch (e) {
        throw new ErofsError('ENOENT', `missing blob ${path}: ${(e as Error).message}`, where);
      }
      try {
        return { file, offset: 0, size: ra.size, fileSize: ra.size, magic: await ra.read(0, Math.min(4, ra.size)) };
      } finally {
        await ra.close();
      }
    },
    async close() {},
  };
}

function archiveStore(ra: RandomAccess, index: Map<string, TarMember>, where: string): BlobStore {
  return {
    async stream(path, w) {
      const m = resolveMember(index, path);
      if (!m) throw new ErofsError('ENOENT', `archive has no member ${path}`, w);
      return { size: m.size, body: ra.stream(m.offset, m.size) };
    },
    async exists(path) {
      return resolveMember(index, path) !== undefined;
    },
    async locate(path, w) {
      const m = resolveMember(index, path);
      if (!m) throw new ErofsError('ENOENT', `archive has no member ${path}`, w);
      return { file: where, offset: m.offset, size: m.size, fileSize: ra.size, magic: await ra.read(m.offset, Math.min(4, m.size)) };
    },
    async close() {
      await ra.close();
    },
  };
}

async function collect(body: AsyncIterable<Uint8Array>, max: number, where: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of body) {
    n += c.length;
    if (n > max) throw invalid(`JSON document larger than ${max} bytes`, where);
    parts.push(c);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function parseJson(b: Uint8Array, where: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b));
  } catch (e) {
    throw corrupt(`bad JSON: ${(e as Error).message}`, where);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) && false) throw corrupt('JSON document is not an object', where);
  return v as Record<string, unknown>;
}

/** Splits "PATH[:REF]": the whole string when it exists, else at the last ':'. */
async function splitRef(source: string): Promise<{ path: string; ref: string | undefined }> {
  if (await stat(source).then(() => true, () => false)) return { path: source, ref: undefined };
  const i = source.lastIndexOf(':');
  if (i > 0) {
    const path = source.slice(0, i);
    if (await stat(path).then(() => true, () => false)) return { path, ref: source.slice(i + 1) };
  }
  throw new ErofsError('ENOENT', 'no such OCI layout or archive', source);
}

/** The platform of this machine in OCI words (Node's 'x64' is OCI's 'amd64'). */
export function hostPlatform(): string {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return `linux/${arch[process.arch] ?? process.arch}`;
}

/**
 * Opens `source`: a directory is an OCI image layout; a file is an archive,
 * OCI if it holds `oci-layout`/`index.json`, Docker if it holds `manifest.json`.
 * `:REF` picks the manifest whose org.opencontainers.image.ref.name (or, for
 * docker-archive, RepoTags entry) equals REF.
 */
export async function openImage(source: string, opts: OpenImageOptions = {}): Promise<OciImage> {
  const { path, ref } = await splitRef(source);
  const st = await stat(path);
  const maxJson = opts.maxJsonSize ?? 8 << 20;
  if (st.isDirectory()) return openLayout(dirStore(path), 'oci-layout', ref, opts, maxJson, source);
  const ra = await FileRandomAccess.open(path);
  try {
    const index = await indexTar(ra, path);
    const store = archiveStore(ra, index, path);
    if (index.has('index.json')) return await openLayout(store, 'oci-archive', ref, opts, maxJson, source);
    if (index.has('manifest.json')) return await openDocker(store, ref, maxJson, source);
    throw invalid('archive holds neither index.json (OCI) nor manifest.json (docker save)', path);
  } catch (e) {
    await ra.close();
    throw e;
  }
}

/** Reads a blob by digest and verifies it; for small JSON documents. */
async function readBlobJson(store: BlobStore, digest: string, size: number | undefined, max: number): Promise<Record<string, unknown>> {
  const { hex, algorithm } = parseDigest(digest, digest);
  const { body } = await store.stream(`blobs/${algorithm}/${hex}`, digest);
  return parseJson(await collect(verifyDigest(body, digest, size), max, digest), digest);
}

interface Descriptor {
  mediaType?: string;
  digest: string;
  size?: number;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

function descriptors(v: unknown, where: string): Descriptor[] {
  if (!Array.isArray(v)) throw corrupt('expected a list of descriptors', where);
  return v.map((d: unknown) => {
    if (typeof d !== 'object' || d === null) throw corrupt('descriptor is not an object', where);
    const o = d as Descriptor;
    parseDigest(o.digest, where);
    if (o.size !== undefined && (!Number.isSafeInteger(o.size) || o.size < 0)) throw corrupt('descriptor with a bad size', o.digest);
    return o;
  });
}

async function openLayout(store: BlobStore, kind: 'oci-layout' | 'oci-archive', ref: string | undefined,
  opts: OpenImageOptions, maxJson: number, where: string): Promise<OciImage> {
  const { body } = await store.stream('index.json', where);
  const index = parseJson(await collect(body, maxJson, `${where} index.json`), `${where} index.json`);
  let list = descriptors(index.manifests, `${where} index.json`);
  if (ref !== undefined) {
    list = list.filter((d) => d.annotations?.['org.opencontainers.image.ref.name'] === ref
      || d.annotations?.['io.containerd.image.name'] === ref);
    if (list.length === 0) throw new ErofsError('ENOENT', `no manifest named ${JSON.stringify(ref)} in index.json`, where);
  }
  if (list.length !== 1) {
    // Several entries may be one multi-platform image listed flat; try the platform.
    const plat = pickPlatform(list, opts.platform, where, true);
    list = plat ? [plat] : list;
    if (list.length !== 1) throw invalid(`index.json lists ${list.length} images; name one with :REF`, where);
  }
  let desc = list[0]!;
  let doc = await readBlobJson(store, desc.digest, desc.size, maxJson);
  for (let depth = 0; isIndex(desc, doc); depth++) {
    if (depth > 4) throw corrupt('image indexes nested too deeply', desc.digest);
    desc = pickPlatform(descriptors(doc.manifests, desc.digest), opts.platform, desc.digest, false)!;
    doc = await readBlobJson(store, desc.digest, desc.size, maxJson);
  }
  const manifestDigest = desc.digest;
  const cfgDesc = descriptors([doc.config], manifestDigest)[0]!;
  const config = await readBlobJson(store, cfgDesc.digest, cfgDesc.size, maxJson);
  const diffIds = diffIdsOf(config, cfgDesc.digest);
  const layerDescs = descriptors(doc.layers, manifestDigest);
  if (diffIds && diffIds.length !== layerDescs.length) throw corrupt('config rootfs.diff_ids and manifest layers differ in number', manifestDigest);
  const layers = layerDescs.map((d, i): OciLayer => {
    const mediaType = d.mediaType ?? '';
    if (!LAYER_TYPES.has(mediaType)) throw new ErofsError('EOPNOTSUPP', `unsupported layer media type ${JSON.stringify(mediaType)}`, d.digest);
    const { algorithm, hex } = parseDigest(d.digest, manifestDigest);
    const diffId = diffIds?.[i];
    return {
      digest: d.digest, diffId, mediaType, size: d.size ?? 0,
      open: () => layerStream(store, `blobs/${algorithm}/${hex}`, d.digest, d.size, diffId),
      locate: () => store.locate(`blobs/${algorithm}/${hex}`, d.digest),
    };
  });
  return { kind, manifest: doc, config, layers, close: () => store.close() };
}

/** The blob, verified; decompressed by magic; the result verified against diff_id. */
async function* layerStream(store: BlobStore, path: string, digest: string, size: number | undefined, diffId: string | undefined): AsyncGenerator<Uint8Array> {
  const { body } = await store.stream(path, digest);
  const raw = verifyDigest(body, digest, size);
  const tar = decompress(raw, { where: digest });
  yield* diffId ? verifyDigest(tar, diffId) : tar;
}

function isIndex(d: Descriptor, doc: Record<string, unknown>): boolean {
  return d.mediaType === MT.ociIndex || d.mediaType === MT.dockerList || doc.mediaType === MT.ociIndex
    || doc.mediaType === MT.dockerList || (Array.isArray(doc.manifests) && doc.layers === undefined);
}

function diffIdsOf(config: Record<string, unknown>, where: string): string[] | undefined {
  const rootfs = config.rootfs as { diff_ids?: unknown } | undefined;
  if (!rootfs || rootfs.diff_ids === undefined) return undefined;
  if (!Array.isArray(rootfs.diff_ids)) throw corrupt('config rootfs.diff_ids is not a list', where);
  return rootfs.diff_ids.map((x) => parseDigest(x, where).digest);
}

/** Picks the descriptor for "os/arch[/variant]"; `soft` returns null instead of failing. */
function pickPlatform(list: Descriptor[], platform: string | undefined, where: string, soft: boolean): Descriptor | null {
  const want = (platform ?? hostPlatform()).split('/');
  const [os, arch, variant] = want;
  const hits = list.filter((d) => d.platform && d.platform.os === os && d.platform.architecture === arch
    && (variant === undefined || d.platform.variant === variant));
  if (hits.length >= 1) return hits[0]!;
  if (soft) return null;
  const have = list.map((d) => d.platform ? [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/') : '?').join(', ');
  throw new ErofsError('ENOENT', `no image for platform ${want.join('/')} (index has ${have})`, where);
}

async function openDocker(store: BlobStore, ref: string | undefined, maxJson: number, where: string): Promise<OciImage> {
  const { body } = await store.stream('manifest.json', where);
  const raw = JSON.parse(new TextDecoder().decode(await collect(body, maxJson, `${where} manifest.json`))) as unknown;
  if (!Array.isArray(raw) || raw.length === 0) throw corrupt('manifest.json is not a non-empty list', where);
  type Entry = { Config: string; RepoTags?: string[] | null; Layers: string[] };
  let entries = raw as Entry[];
  if (ref !== undefined) entries = entries.filter((e) => e.RepoTags?.includes(ref) || e.RepoTags?.some((t) => t.endsWith('/' + ref)));
  if (entries.length !== 1) throw invalid(entries.length ? `docker archive holds ${entries.length} images; name one with :TAG` : `no image tagged ${ref}`, where);
  const m = entries[0]!;
  if (typeof m.Config !== 'string' || !Array.isArray(m.Layers)) throw corrupt('manifest.json entry lacks Config or Layers', where);
  // docker save names the config after its own digest: check it when it does.
  const cfgBody = (await store.stream(m.Config, m.Config)).body;
  const cfgHex = /(?:^|\/)([a-f0-9]{64})(?:\.json)?$/.exec(m.Config)?.[1];
  const cfgBytes = await collect(cfgHex ? verifyDigest(cfgBody, `sha256:${cfgHex}`) : cfgBody, maxJson, m.Config);
  const config = parseJson(cfgBytes, m.Config);
  const diffIds = diffIdsOf(config, m.Config);
  if (!diffIds || diffIds.length !== m.Layers.length) throw corrupt('config rootfs.diff_ids does not match the layer list', m.Config);
  const layers = m.Layers.map((p, i): OciLayer => {
    const diffId = diffIds[i]!;
    return {
      // A docker archive's layer tars are addressed by diff_id: that is what we verify.
      digest: diffId, diffId, mediaType: 'application/vnd.docker.image.rootfs.diff.tar', size: 0,
      open: () => dockerLayer(store, p, diffId),
      locate: () => store.locate(p, diffId),
    };
  });
  return { kind: 'docker-archive', manifest: m, config, layers, close: () => store.close() };
}

async function* dockerLayer(store: BlobStore, path: string, diffId: string): AsyncGenerator<Uint8Array> {
  const { body } = await store.stream(path, diffId);
  // Newer docker versions may store compressed layers; diff_id is the uncompressed digest.
  yield* verifyDigest(decompress(body, { where: diffId }), diffId);
}
