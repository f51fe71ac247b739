import { put16, put32, u16, u32 } from './le.js';

/**
 * struct erofs_deviceslot (128 bytes): 0 tag[64] (e.g. a SHA-256 digest naming
 * the blob), 64 blocks_lo, 68 uniaddr_lo, 72 blocks_hi (16), 74 uniaddr_hi (16),
 * 76 reserved[52]. The device table starts at byte devt_slotoff * 128 of the
 * primary device; extra device N (1-based device_id) is slot N-1.
 */
export const DEVICE_SLOT_SIZE = 128;

export interface DeviceSlot {
  tag: Uint8Array;
  blocks: number;
  /** Unified starting block: where this device appears in the flat address space (0 = not mapped). */
  uniaddr: number;
}

export function decodeDeviceSlot(b: Uint8Array, o: number): DeviceSlot {
  return {
    tag: b.slice(o, o + 64),
    blocks: u32(b, o + 64) + u16(b, o + 72) * 0x100000000,
    uniaddr: u32(b, o + 68) + u16(b, o + 74) * 0x100000000,
  };
}

export function encodeDeviceSlot(d: DeviceSlot, b: Uint8Array, o: number): void {
  b.fill(0, o, o + DEVICE_SLOT_SIZE);
  b.set(d.tag.subarray(0, 64), o);
  put32(b, o + 64, d.blocks >>> 0);
  put32(b, o + 68, d.uniaddr >>> 0);
  put16(b, o + 72, Math.floor(d.blocks / 0x100000000));
  put16(b, o + 74, Math.floor(d.uniaddr / 0x100000000));
}
