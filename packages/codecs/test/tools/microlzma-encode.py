#!/usr/bin/env python3
"""Test helper: MicroLZMA encoder through the system liblzma (lzma_microlzma_encoder,
liblzma >= 5.3.2, the encoder mkfs.erofs uses), called with ctypes.

usage: microlzma-encode.py PRESET DICT_SIZE OUT_CAPACITY IN_FILE OUT_FILE
Encodes as much of IN_FILE as fits in OUT_CAPACITY bytes (MicroLZMA is a
destSize-style encoder) and prints the number of input bytes consumed.
Exit 2 when liblzma lacks the MicroLZMA encoder."""
import ctypes, ctypes.util, sys

lib = ctypes.CDLL(ctypes.util.find_library('lzma') or 'liblzma.so.5')
if not hasattr(lib, 'lzma_microlzma_encoder'):
    sys.exit(2)

class Stream(ctypes.Structure):
    _fields_ = [
        ('next_in', ctypes.c_void_p), ('avail_in', ctypes.c_size_t), ('total_in', ctypes.c_uint64),
        ('next_out', ctypes.c_void_p), ('avail_out', ctypes.c_size_t), ('total_out', ctypes.c_uint64),
        ('allocator', ctypes.c_void_p), ('internal', ctypes.c_void_p),
        ('reserved', ctypes.c_byte * 128),
    ]

preset, dict_size, cap = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
data = open(sys.argv[4], 'rb').read()
opts = ctypes.create_string_buffer(256)
if lib.lzma_lzma_preset(opts, ctypes.c_uint32(preset)):
    sys.exit('bad preset')
ctypes.c_uint32.from_buffer(opts, 0).value = dict_size
strm = Stream()
if lib.lzma_microlzma_encoder(ctypes.byref(strm), opts) != 0:
    sys.exit('encoder init failed')
inbuf = ctypes.create_string_buffer(data, len(data))
outbuf = ctypes.create_string_buffer(cap)
strm.next_in = ctypes.cast(inbuf, ctypes.c_void_p)
strm.avail_in = len(data)
strm.next_out = ctypes.cast(outbuf, ctypes.c_void_p)
strm.avail_out = cap
ret = lib.lzma_code(ctypes.byref(strm), 3)  # LZMA_FINISH
if ret != 1:  # LZMA_STREAM_END
    sys.exit('lzma_code returned %d' % ret)
open(sys.argv[5], 'wb').write(outbuf.raw[:strm.total_out])
lib.lzma_end(ctypes.byref(strm))
print(strm.total_in)
