/**
 * Layers -> trees. Flattened: all layers into ONE tree with whiteouts applied.
 * Per layer: one tree per layer keeping overlayfs-native whiteouts, as
 * containerd's EROFS snapshotter mounts them as overlayfs lower dirs.
 */
import { ErofsError } from './errors.js';
import type { InodeNode, WriteData } from './model.js';
import { applyWithData, tarToTree } from './tar-tree.js';
import { readTar } from './tar/reader.js';
import { joinPath, TreeBuilder, type TreeOptions } from './tree-builder.js';

/** A layer as the flattener needs it: a name for errors and a re-openable tar stream. */
export interface LayerSource {
  /** Names the layer in errors (its digest). */
  digest: string;
  /** A fresh stream of the uncompressed (or compressed: sniffed) tar. */
  open(): AsyncIterable<Uint8Array>;
}

/** Options of {@link flattenLayers}. */
export interface FlattenOptions extends Omit<TreeOptions, 'aufs'> {
  writeData: WriteData;
  /**
   * 2 (default): a first pass reads only headers and computes the final tree,
   * a second pass streams only the data of files that survive. Costs a second
   * read and decompression of each layer holding surviving data, and never
   * writes a byte a later layer deletes or replaces.
   * 1: one pass, data written as it comes; files deleted later waste space in
   * the image but each layer is read once (use for sources that cannot be re-read).
   */
  passes?: 1 | 2;
}

/** Rewrites an error so it also names the layer. */
function inLayer(e: unknown, digest: string): unknown {
  if (e instanceof ErofsError && !(e.where ?? '').includes(digest)) {
    return new ErofsError(e.code, e.message.replace(/ @ .*$/, ''), e.where ? `${e.where} in layer ${digest}` : digest, { cause: e });
  }
  return e;
}

/**
 * Applies `layers` lowest first into one tree: `.wh.NAME` deletes NAME from
 * lower layers, `.wh..wh..opq` hides the directory's lower contents, and a
 * whiteout never reaches outside its own directory.
 */
export async function flattenLayers(layers: LayerSource[], opts: FlattenOptions): Promise<InodeNode> {
  const b = new TreeBuilder('flatten', opts);
  const twoPass = (opts.passes ?? 2) === 2;
  // Pass 1: headers. Remember where each regular file's bytes are.
  const origin = new Map<InodeNode, { layer: number; index: number; path: string }>();
  for (let li = 0; li < layers.length; li++) {
    const l = layers[li]!;
    try {
      let index = 0;
      for await (const e of readTar(l.open(), { where: l.digest, onWarning: opts.onWarning })) {
        const node = await applyWithData(b, e, li, twoPass ? null : opts.writeData);
        if (node && node.size! > 0 && twoPass) origin.set(node, { layer: li, index, path: '/' + joinPath(b.normalise(e.path, '')) });
        index++;
      }
    } catch (e) {
      throw inLayer(e, l.digest);
    }
  }
  const root = b.finish();
  if (!twoPass) return root;
  // Which file nodes are still reachable (hard links may keep a replaced node alive).
  const wanted = new Map<number, Map<number, InodeNode>>();
  const seen = new Set<InodeNode>();
  const walk = (dir: InodeNode): void => {
    for (const { node } of dir.entries!.values()) {
      if (seen.has(node)) continue;
      seen.add(node);
      if (node.type === 'dir') walk(node);
      const o = origin.get(node);
      if (o) {
        let m = wanted.get(o.layer);
        if (!m) wanted.set(o.layer, (m = new Map()));
        m.set(o.index, node);
      }
    }
  };
  walk(root);
  // Pass 2: stream surviving data, layer by layer, in order.
  for (let li = 0; li < layers.length; li++) {
    const need = wanted.get(li);
    if (!need) continue;
    const l = layers[li]!;
    try {
      let index = 0;
      for await (const e of readTar(l.open(), { where: l.digest })) {
        const node = need.get(index++);
        if (!node) continue;
        const o = origin.get(node)!;
        if (e.size !== node.size) throw new ErofsError('EIO', 'layer changed between the two passes', o.path);
        node.data = await opts.writeData(e.body, e.size, o.path, node.xattrs, { dataOffset: e.dataOffset, layer: li });
      }
    } catch (e) {
      throw inLayer(e, l.digest);
    }
  }
  return root;
}

/** Options of {@link layerTree}. */
export type LayerTreeOptions = Omit<TreeOptions, 'aufs'> & { writeData: WriteData };

/**
 * One layer as a tree for an overlayfs lower dir: `.wh.NAME` becomes a 0:0
 * character device NAME, `.wh..wh..opq` sets trusted.overlay.opaque=y on its
 * directory, and directories with whiteouts get an empty trusted.overlay.origin
 * (all as mkfs.erofs `--aufs` does). With `ovlfsStrip` both are dropped instead.
 */
export async function layerTree(layer: LayerSource, opts: LayerTreeOptions): Promise<InodeNode> {
  try {
    return await tarToTree(layer.open(), { ...opts, aufs: true, where: layer.digest });
  } catch (e) {
    throw inLayer(e, layer.digest);
  }
}

/**
 * Per-layer trees for an overlayfs stack, lowest layer first. Besides each
 * layer's own tree (as {@link layerTree} makes it), a header-only flattened
 * view of the layers below is kept, so a directory a layer creates only
 * implicitly (a member under it without a member for it) gets the metadata
 * the lower layers gave it, and a layer without a './' member gets the lower
 * root's. Otherwise the implicit directory, being upper-most, would hide the
 * lower directory's mode, owner, mtime and xattrs in the stack. Each layer is
 * read once.
 */
export class LayerStack {
  private readonly below = new TreeBuilder('flatten');
  private index = 0;

  /** The next layer's tree; layers must come lowest first. */
  async next(layer: LayerSource, opts: LayerTreeOptions): Promise<InodeNode> {
    const li = this.index++;
    const low = this.below;
    const r = low.root;
    const b = new TreeBuilder('aufs', {
      ...opts,
      root: { mode: r.mode, uid: r.uid, gid: r.gid, mtime: { ...r.mtime } },
      implicitDirMeta: (comps) => low.lookup([...comps]),
    });
    try {
      for await (const e of readTar(layer.open(), { where: layer.digest, onWarning: opts.onWarning })) {
        await applyWithData(b, e, li, opts.writeData);
        // The same member, headers only, on the view of the layers so far.
        low.apply(e, li);
      }
    } catch (e) {
      throw inLayer(e, layer.digest);
    }
    return b.finish();
  }
}
