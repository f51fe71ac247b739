import {
  CompressionAlgorithm, DEVICE_SLOT_SIZE, EROFS_ALL_FEATURE_INCOMPAT, EROFS_MAX_BLKSZBITS, EROFS_MIN_BLKSZBITS,
  EROFS_SUPER_MAGIC_V1, EROFS_SUPER_OFFSET, ErofsError, FEATURE_COMPAT_NAMES, FEATURE_INCOMPAT_NAMES, FeatureCompat,
  FeatureIncompat, SUPERBLOCK_BASE_SIZE, SUPERBLOCK_SIZE, Z_EROFS_COMPRESSION_MAX, checksumLength, corrupted,
  decodeDeflateCfgs, decodeDeviceSlot, decodeLz4Cfgs, decodeLzmaCfgs, decodeSuperblock, decodeZstdCfgs, rootNid,
  superblockChecksum, totalBlocks, u16, type DeflateCfgs, type Lz4Cfgs, type LzmaCfgs,
  type Superblock, type ZstdCfgs,
} from '@erofs/format';
import { readExact, type BlockSource } from './source.js';

/** One extra device (blob) of the device table. */
export interface DeviceInfo {
  /** 1-based device_id as chunk indexes use it. */
  id: number;
  /** The 64-byte tag as stored. */
  tag: Uint8Array;
  /** The tag as text (up to the first NUL), e.g. a blob digest. */
  tagText: string;
  blocks: number;
  /** Unified starting block in the flat address space (0 = not mapped there). */
  uniaddr: number;
}

/** Per-algorithm compression configurations (COMPR_CFGS), as the superblock gives them. */
export interface CompressionCfgs {
  lz4?: Lz4Cfgs;
  lzma?: LzmaCfgs;
  deflate?: DeflateCfgs;
  zstd?: ZstdCfgs;
}

/** The superblock, checked and with derived values a reader needs. */
export interface SuperInfo {
  /** The raw decoded superblock. */
  raw: Superblock;
  blkszbits: number;
  blksz: number;
  /** 128 + sb_extslots * 16. */
  sbSize: number;
  featureCompat: number;
  featureIncompat: number;
  /** Names of the set feature bits (unknown compat bits as "compat_0x..."). */
  featureNames: string[];
  rootNid: bigint;
  /** 0n when there is no packed inode. */
  packedNid: bigint;
  /** 0n when there is no metabox. */
  metaboxNid: bigint;
  /** Blocks of the primary device. */
  blocks: number;
  metaBlkaddr: number;
  xattrBlkaddr: number;
  /** Seconds: base of compact inodes' mtimes. */
  epoch: number;
  fixedNsec: number;
  /** epoch + build_time: when mkfs ran. */
  buildTime: number;
  inos: number;
  uuid: string;
  volumeName: string;
  /** available_compr_algs when COMPR_CFGS is set, else lz4_max_distance (raw u1). */
  u1: number;
  /** Bitmask of algorithms (bit 0 LZ4 ...); LZ4 only when COMPR_CFGS is not set. */
  availableComprAlgs: number;
  cfgs: CompressionCfgs;
  devices: DeviceInfo[];
  /** roundup_pow_of_two(extra devices + 1) - 1: the bits of device_id that count. */
  deviceIdMask: number;
  xattrPrefixCount: number;
  /** Byte position of the long prefix table (xattr_prefix_start * 4) in its space. */
  xattrPrefixStart: number;
  /** Long prefix id of the fingerprint xattr (Linux 7.0 ishare), or null without ISHARE_XATTRS. */
  ishareXattrPrefixId: number | null;
  /** Name filter in use (compat XATTR_FILTER and xattr_filter_reserved 0). */
  xattrFilter: boolean;
}

const dec = new TextDecoder('utf-8', { fatal: false });

function cstr(b: Uint8Array): string {
  const z = b.indexOf(0);
  return dec.decode(z < 0 ? b : b.subarray(0, z));
}

function uuidText(b: Uint8Array): string {
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Names of the feature bits set in compat/incompat, in bit order. */
export function featureNames(compat: number, incompat: number): string[] {
  const out: string[] = [];
  let known = 0;
  for (const [bit, name] of FEATURE_COMPAT_NAMES) {
    known |= bit;
    if (compat & bit) out.push(name);
  }
  for (let bit = 1; bit !== 0 && bit <= 0x80000000; bit = (bit << 1) >>> 0) {
    if (compat & bit & ~known) out.push(`compat_0x${bit.toString(16)}`);
  }
  for (const [bit, name] of FEATURE_INCOMPAT_NAMES) if (incompat & bit) out.push(name);
  return out;
}

/**
 * Reads and checks the superblock: magic, block size, checksum, unknown
 * incompatible features, sb_extslots, metabox and packed nids, compression
 * configurations and the device table. Everything that could make later
 * arithmetic absurd is refused here.
 */
export async function readSuper(src: BlockSource): Promise<SuperInfo> {
  if (src.size < EROFS_SUPER_OFFSET + SUPERBLOCK_BASE_SIZE) {
    throw new ErofsError('EIO', `image too short for an EROFS superblock (${src.size} bytes, truncated?)`, 'superblock');
  }
  const head = await readExact(src, EROFS_SUPER_OFFSET, Math.min(SUPERBLOCK_SIZE, src.size - EROFS_SUPER_OFFSET), 'superblock');
  const sbBytes = new Uint8Array(SUPERBLOCK_SIZE);
  sbBytes.set(head);
  const sb = decodeSuperblock(sbBytes, 0);
  if (sb.magic !== EROFS_SUPER_MAGIC_V1) {
    throw new ErofsError('EINVAL', `not an EROFS image: bad magic 0x${sb.magic.toString(16)}`, 'superblock');
  }
  if (sb.blkszbits < EROFS_MIN_BLKSZBITS || sb.blkszbits > EROFS_MAX_BLKSZBITS) {
    throw new ErofsError('EOPNOTSUPP', `unsupported block size: blkszbits ${sb.blkszbits} (supported ${EROFS_MIN_BLKSZBITS}..${EROFS_MAX_BLKSZBITS})`, 'superblock');
  }
  const blksz = 2 ** sb.blkszbits;
  const sbSize = SUPERBLOCK_BASE_SIZE + sb.sbExtslots * 16;
  if (EROFS_SUPER_OFFSET + sbSize > Math.max(blksz, 4096)) {
    throw corrupted(`invalid sb_extslots ${sb.sbExtslots}`, 'superblock');
  }
  if (sb.featureCompat & FeatureCompat.SB_CHKSUM) {
    const len = checksumLength(sb.blkszbits);
    if (EROFS_SUPER_OFFSET + len > src.size) {
      throw new ErofsError('EIO', `image too short for the checksummed superblock block (truncated?)`, 'superblock');
    }
    const region = await readExact(src, EROFS_SUPER_OFFSET, len, 'superblock');
    const want = superblockChecksum(region, sb.blkszbits);
    if (want !== sb.checksum) {
      throw corrupted(`bad superblock checksum 0x${sb.checksum.toString(16).padStart(8, '0')}, expected 0x${want.toString(16).padStart(8, '0')}`, 'superblock');
    }
  }
  const unknown = sb.featureIncompat & ~EROFS_ALL_FEATURE_INCOMPAT;
  if (unknown) {
    throw new ErofsError('EOPNOTSUPP', `unsupported incompatible features 0x${unknown.toString(16)}`, 'superblock');
  }
  if (sb.dirblkbits !== 0) {
    throw new ErofsError('EOPNOTSUPP', `unsupported dirblkbits ${sb.dirblkbits}`, 'superblock');
  }
  const inc = sb.featureIncompat;
  const metabox = (inc & FeatureIncompat.METABOX) !== 0;
  if (sb.packedNid >> 63n) throw corrupted('packed inode nid points into the metabox', 'superblock');
  if (metabox) {
    if (sbSize < 136) throw corrupted('metabox feature without room for metabox_nid (sb_extslots too small)', 'superblock');
    if (sb.metaboxNid >> 63n) throw corrupted('metabox inode nid points into the metabox', 'superblock');
  }
  // Fields beyond sb_size are not part of this superblock: use them only when covered.
  const metaboxNid = metabox ? sb.metaboxNid : 0n;
  const root = rootNid(sb);
  if ((root >> 63n) && !metabox) throw corrupted('root nid points into a metabox the image does not have', 'superblock');
  const blocks = totalBlocks(sb);
  const compat = sb.featureCompat;
  let ishare: number | null = null;
  if (compat & FeatureCompat.ISHARE_XATTRS) {
    if (sb.ishareXattrPrefixId >= sb.xattrPrefixCount) {
      throw corrupted(`invalid ishare xattr prefix id ${sb.ishareXattrPrefixId} (${sb.xattrPrefixCount} long prefixes)`, 'superblock');
    }
    ishare = sb.ishareXattrPrefixId;
  }

  // Compression configurations: length-prefixed records right after the superblock.
  const cfgs: CompressionCfgs = {};
  let algs = 1 << CompressionAlgorithm.LZ4;
  if (inc & FeatureIncompat.COMPR_CFGS) {
    algs = sb.u1;
    if (algs >> Z_EROFS_COMPRESSION_MAX) {
      throw new ErofsError('EOPNOTSUPP', `unsupported compression algorithms 0x${algs.toString(16)}`, 'superblock');
    }
    let pos = EROFS_SUPER_OFFSET + sbSize;
    for (let alg = 0; alg < Z_EROFS_COMPRESSION_MAX; alg++) {
      if (!(algs & (1 << alg))) continue;
      pos = (pos + 3) & ~3;
      const lb = await readExact(src, pos, 2, 'compression configs');
      const len = u16(lb, 0);
      if (len === 0 || len > 256) throw corrupted(`invalid compression config length ${len} for algorithm ${alg}`, 'superblock');
      const data = await readExact(src, pos + 2, len, 'compression configs');
      pos += 2 + len;
      if (alg === CompressionAlgorithm.LZ4) cfgs.lz4 = decodeLz4Cfgs(data);
      else if (alg === CompressionAlgorithm.LZMA) cfgs.lzma = decodeLzmaCfgs(data);
      else if (alg === CompressionAlgorithm.DEFLATE) cfgs.deflate = decodeDeflateCfgs(data);
      else cfgs.zstd = decodeZstdCfgs(data);
    }
  } else {
    cfgs.lz4 = { maxDistance: sb.u1, maxPclusterblks: 1 };
  }

  // Device table (DEVICE_TABLE shares its bit with COMPR_HEAD2; extra_devices is 0 then).
  const devices: DeviceInfo[] = [];
  const extra = inc & FeatureIncompat.DEVICE_TABLE ? sb.extraDevices : 0;
  if (extra) {
    const start = sb.devtSlotoff * DEVICE_SLOT_SIZE;
    if (start + extra * DEVICE_SLOT_SIZE > src.size) throw corrupted(`device table (${extra} slots at ${start}) beyond the end of the image`, 'superblock');
    const tbl = await readExact(src, start, extra * DEVICE_SLOT_SIZE, 'device table');
    const wide = (inc & FeatureIncompat['48BIT']) !== 0;
    for (let i = 0; i < extra; i++) {
      const d = decodeDeviceSlot(tbl, i * DEVICE_SLOT_SIZE);
      const blocksN = wide ? d.blocks : d.blocks % 0x100000000;
      const uni = wide ? d.uniaddr : d.uniaddr % 0x100000000;
      devices.push({ id: i + 1, tag: d.tag, tagText: cstr(d.tag), blocks: blocksN, uniaddr: uni });
    }
  }
  let mask = 1;
  while (mask < extra + 1) mask <<= 1;

  const epoch = Number(BigInt.asIntN(64, sb.epoch));
  return {
    raw: sb,
    blkszbits: sb.blkszbits,
    blksz,
    sbSize,
    featureCompat: compat,
    featureIncompat: inc,
    featureNames: featureNames(compat, inc),
    rootNid: root,
    packedNid: sb.packedNid,
    metaboxNid,
    blocks,
    metaBlkaddr: sb.metaBlkaddr,
    xattrBlkaddr: sb.xattrBlkaddr,
    epoch,
    fixedNsec: sb.fixedNsec,
    buildTime: epoch + sb.buildTime,
    inos: Number(sb.inos),
    uuid: uuidText(sb.uuid),
    volumeName: cstr(sb.volumeName),
    u1: sb.u1,
    availableComprAlgs: algs,
    cfgs,
    devices,
    deviceIdMask: mask - 1,
    xattrPrefixCount: sb.xattrPrefixCount,
    xattrPrefixStart: sb.xattrPrefixStart * 4,
    ishareXattrPrefixId: ishare,
    xattrFilter: (compat & FeatureCompat.XATTR_FILTER) !== 0 && sb.xattrFilterReserved === 0,
  };
}
