import { put16, put32, u16, u32 } from './le.js';

/**
 * POSIX ACLs as the kernel stores them in system.posix_acl_access/default:
 * a 4-byte version (2), then 8-byte entries {tag (16), perm (16), id (32)}.
 * EROFS keeps this binary form as the xattr value.
 */
export const ACL_VERSION = 2;
export const AclTag = { USER_OBJ: 1, USER: 2, GROUP_OBJ: 4, GROUP: 8, MASK: 0x10, OTHER: 0x20 } as const;
export const ACL_UNDEFINED_ID = 0xffffffff;

export interface AclEntry {
  tag: number;
  perm: number;
  /** uid/gid for USER/GROUP entries, else undefined. */
  id?: number;
}

/** Decodes a posix_acl xattr value; returns null when it is not a well-formed ACL. */
export function decodeAcl(b: Uint8Array): AclEntry[] | null {
  if (b.length < 4 || (b.length - 4) % 8 !== 0 || u32(b, 0) !== ACL_VERSION) return null;
  const out: AclEntry[] = [];
  for (let o = 4; o < b.length; o += 8) {
    const tag = u16(b, o);
    const perm = u16(b, o + 2);
    const id = u32(b, o + 4);
    out.push(tag === AclTag.USER || tag === AclTag.GROUP ? { tag, perm, id } : { tag, perm });
  }
  return out;
}

export function encodeAcl(entries: AclEntry[]): Uint8Array {
  const b = new Uint8Array(4 + entries.length * 8);
  put32(b, 0, ACL_VERSION);
  entries.forEach((e, i) => {
    put16(b, 4 + i * 8, e.tag);
    put16(b, 6 + i * 8, e.perm);
    put32(b, 8 + i * 8, e.id ?? ACL_UNDEFINED_ID);
  });
  return b;
}

/** getfacl-style text ("user::rw-,user:1000:r--,..."), for dump tools. */
export function aclToText(entries: AclEntry[]): string {
  const p = (x: number) => (x & 4 ? 'r' : '-') + (x & 2 ? 'w' : '-') + (x & 1 ? 'x' : '-');
  return entries.map((e) => {
    switch (e.tag) {
      case AclTag.USER_OBJ: return `user::${p(e.perm)}`;
      case AclTag.USER: return `user:${e.id}:${p(e.perm)}`;
      case AclTag.GROUP_OBJ: return `group::${p(e.perm)}`;
      case AclTag.GROUP: return `group:${e.id}:${p(e.perm)}`;
      case AclTag.MASK: return `mask::${p(e.perm)}`;
      case AclTag.OTHER: return `other::${p(e.perm)}`;
      default: return `tag${e.tag}:${e.id ?? ''}:${p(e.perm)}`;
    }
  }).join(',');
}
