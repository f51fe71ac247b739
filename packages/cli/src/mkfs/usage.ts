/** The text of `mkfs-erofs --help`. */
export function usageText(prog = 'mkfs-erofs'): string {
  return `Usage: ${prog} [OPTIONS] IMAGE SOURCE
       ${prog} [OPTIONS] --tar[=f] IMAGE [TARBALL|-]
       ${prog} [OPTIONS] --oci[=f][,platform=X][,layer=N] [--per-layer=DIR] [IMAGE] DIR[:REF]|ARCHIVE
Build an EROFS image (IMAGE) from the directory SOURCE, a tarball or a local OCI image.
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
      (compressed images, with -z:)
      ztailpacking / ^ztailpacking                 a file's last pcluster inline after its indexes
      fragments[=SIZE] / ^fragments                file tails in the packed inode (SIZE: its
                                                   pcluster size; default -C's)
      all-fragments[=SIZE] / ^all-fragments        whole files in the packed inode
      dedupe / ^dedupe                             identical pclusters stored once (without -z:
                                                   one-block chunk dedupe, as mkfs.erofs)
      legacy-compress                              full lcluster indexes only
 -L volume-label        volume label (at most 15 bytes)
 -zX[,level=N][:Y...]   compress with X: lz4, lz4hc (levels 0-12), deflate (0-9), zstd (0-22);
                        alternatives after ':' are for --compress-hints
 -C#                    physical cluster size in bytes (default: the block size)
 --max-extent-bytes=#   longest input one extent may take
 --compress-hints=X     per-file pcluster size and compressor: lines "SIZE [CONFIG#] REGEX"
 --workers=#            compression threads; 0 = none, and no hashing thread either
                        (default: the CPUs, at most 8); the image is the same whatever the number
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

Tar and OCI sources:
 --tar[=f|i]            SOURCE is a tarball (ustar, pax, GNU; '-' or none = stdin); file data is
                        streamed into the image; =i (index mode): the image holds metadata
                        only and refers to the data in the (uncompressed) tar FILE, its
                        extra device (mount -o device=TAR); 512-byte blocks
 --aufs                 turn aufs whiteouts (.wh.NAME, .wh..wh..opq) into overlayfs ones
 --ovlfs-strip[=0|1]    drop overlayfs whiteouts (0:0 char devices) and opaque marks
 --gzip, --ungzip[=X]   the tarball is gzip (X: also write the decompressed tar to X)
 --unzstd[=X]           the tarball is Zstandard (likewise); without either, gzip and zstd
                        are detected by their magic bytes
 --oci[=f|i][,platform=X][,layer=N|,blob=D]
                        SOURCE is an OCI image layout DIR[:REF], an oci-archive or a
                        docker-archive; layers (plain, gzip, zstd; digests verified) are
                        applied with whiteouts into one image; layer=N / blob=D: only that
                        layer (0 = lowest), keeping overlayfs whiteouts
                        i (index mode): metadata only, referring to the data in the
                        uncompressed layer blobs (a layout's blob files, or the archive
                        itself), the extra devices (mount -o device=...); 512-byte blocks
 --per-layer=DIR        with --oci: one image per layer, DIR/sha256-<hex>.erofs, with
                        overlayfs whiteouts, for stacking as overlayfs lower dirs
                        (IMAGE may then be omitted)

Environment:
 SOURCE_DATE_EPOCH      without -T: the build time, and mtimes later than it are clamped
                        to it (reproducible builds); -T wins over it

Not supported yet (exit status 2): -m, --zD, -E fragdedupe,
S3/registry/rebuild sources, --incremental,
and the remaining mkfs.erofs options.
`;
}
