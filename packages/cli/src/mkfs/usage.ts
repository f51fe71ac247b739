/** The text of `mkfs-erofs --help`. */
export function usageText(prog = 'mkfs-erofs'): string {
  return `Usage: ${prog} [OPTIONS] IMAGE SOURCE
Build an EROFS image (IMAGE) from the directory SOURCE (uncompressed layouts).
Options are spelled as in mkfs.erofs 1.9.3; short options take glued values (-b512, -T0).

General options:
 -V, --version          print the version number and exit
 -h, --help             display this help and exit
 -b#                    block size in bytes: 512..65536, a power of two (default 4096;
                        the kernel mounts block sizes up to its page size)
 -d<0-9>                output verbosity: 0 = errors only, 2 = summary (default), 3+ = details
 -x#                    xattr tolerance: < 0 drops all xattrs; xattrs on more than #
                        inodes are stored once, shared (default 2)
 -E X[,...]             extended options:
      inline_data / ^inline_data / noinline_data   inline file tails in the inode (default on)
      xattr-name-filter / ^xattr-name-filter       xattr name bloom filter (default on)
      force-inode-compact / force-inode-extended   one inode size for every inode
      force-inode-blockmap / force-chunk-indexes   chunk-based file layout (with --chunksize)
      nosbcrc                                      no superblock checksum
      plain-xattr-prefixes                         long xattr prefixes stored plainly
      48bit / ^48bit                               48-bit block addresses and mtime epoch
      dot-omitted / ^dot-omitted                   no "." entries in directories (implies 48bit)
 -L volume-label        volume label (at most 15 bytes)
 -T#                    fixed UNIX timestamp # as build time; also every file's mtime
                        unless --mkfs-time is given
    --all-time          apply the timestamp to every file too (default with -T)
    --mkfs-time         apply the timestamp as build time only
 -U X                   filesystem UUID: xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, clear or random
 --all-root             make all files owned by root
 --blobdev=X            store chunk data in the extra device X (with --chunksize)
 --chunksize=#          chunk-based files with #-byte chunks (power of two >= block size)
 --exclude-path=X       leave out the file X (exact path relative to SOURCE)
 --exclude-regex=X      leave out the files whose relative path matches X
 --force-uid=#          set all file uids to #
 --force-gid=#          set all file gids to #
 --uid-offset=#         add # to all file uids
 --gid-offset=#         add # to all file gids
 --ishare_key=X         fingerprint every non-empty regular file in xattr X ("sha256:" + the
                        raw SHA-256 of its content) for Linux 7.0 inode page cache sharing
 --xattr-inode-digest[=X]  the same, upstream's spelling (X = erofs.fingerprint.v1 if omitted)
 --xattr-prefix=X       register X as a long xattr name prefix
 --quiet                no progress and no summary

Environment:
 SOURCE_DATE_EPOCH      without -T: the build time, and mtimes later than it are clamped
                        to it (reproducible builds); -T wins over it

Not supported yet (exit status 2): compression (-z, -C, -m, --zD, compression -E features),
tar/OCI/S3/rebuild sources, --aufs, --ovlfs-strip, --incremental, and the remaining
mkfs.erofs options.
`;
}
