#!/usr/bin/env python3
"""Writes the small .loads files of this directory (see SOURCE.md). Run it from here.

The layout is Cisco's signed-file layout (a `.sgn` header of tag-length-value fields: version,
header length, signer, serial, CA, digest and signature algorithms, a 128-byte signature, the
file name, a time stamp, 0x0d padding to four bytes) followed by a plain body that names the
images. Signer, CA, serial and signature are made up; the signature is pseudo-random bytes.
The bodies use several layouts on purpose: the reader must not depend on one.
"""
import hashlib
import struct


def junk(seed, n):
    out = b""
    block = seed.encode()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return out[:n]


def signed(filename, body, signer="CN=cisco-autoprov test signer;OU=test data;O=example",
           timestamp=1795252463):
    t = bytearray()
    t += struct.pack(">BHBB", 1, 2, 1, 2)
    length_at = len(t)
    t += struct.pack(">BHH", 2, 2, 0)
    signer_name = signer.encode() + b"\0"
    serial = junk("serial" + filename, 8)
    ca = b"CN=cisco-autoprov test CA;O=example\0"
    t += struct.pack(">BH", 3, 3 + len(signer_name) + 3 + len(serial) + 3 + len(ca))
    t += struct.pack(">BH", 4, len(signer_name)) + signer_name
    t += struct.pack(">BH", 5, len(serial)) + serial
    t += struct.pack(">BH", 6, len(ca)) + ca
    t += struct.pack(">BH", 7, 15)
    t += struct.pack(">BHB", 8, 1, 1)
    t += struct.pack(">BH", 9, 8)
    t += struct.pack(">BHB", 10, 1, 0)
    t += struct.pack(">BHB", 11, 1, 1)
    signature_at = len(t)
    name = filename.encode() + b"\0"
    t += struct.pack(">BH", 14, len(name)) + name
    t += struct.pack(">BHI", 15, 4, timestamp)
    while (len(t) + 3 + 128) % 4:
        t += b"\x0d"
    header_length = len(t) + 3 + 128
    struct.pack_into(">H", t, length_at + 3, header_length)
    signature = struct.pack(">BH", 12, 128) + junk("signature" + filename, 128)
    return bytes(t[:signature_at]) + signature + bytes(t[signature_at:]) + body, header_length


def write(filename, data):
    with open(filename, "wb") as f:
        f.write(data)


sip41 = [f"{p}.9-4-2ES26.sbn" for p in ("jar41sip", "cnu41", "apps41", "dsp41", "cvm41sip")]

# One name per line, after the load's own name.
data, length = signed("SIP41.9-4-2SR3-1S.loads", ("SIP41.9-4-2SR3-1S\n" + "\n".join(sip41) + "\n").encode())
write("SIP41.9-4-2SR3-1S.loads", data)
print("SIP41.9-4-2SR3-1S.loads header", length)

# NUL-separated names right after the header; no padding, and a time stamp whose last byte is
# printable ('x'), so a reader that ignored the header length would glue it to the first name.
for extra in range(4):
    signer = "CN=cisco-autoprov test signer;OU=test data;O=example" + "x" * extra
    data, length = signed("term41.default.loads", "\0".join(sip41).encode() + b"\0",
                          signer=signer, timestamp=0x6A00_0078)
    if data[length - 1:length] == b"x":
        break
write("term41.default.loads", data)
print("term41.default.loads header", length, data[length - 1:length])

# Lines with a version line that is not an image.
data, _ = signed("P0S3-8-12-00.loads", b"P003-8-12-00.sbn\nP0S3-8-12-00.sb2\nLA_VERSION=TEST0000\n")
write("P0S3-8-12-00.loads", data)

# Binary records: a 2-byte length, the name, a 4-byte size.
sccp11 = [f"{p}.8-5-2TH1-9.sbn" for p in ("jar11sccp", "cnu11", "apps11", "dsp11", "cvm11sccp")]
body = b"".join(struct.pack(">H", len(n)) + n.encode() + struct.pack(">I", 1000 + i) for i, n in enumerate(sccp11))
data, _ = signed("SCCP11.8-5-2S.loads", body)
write("SCCP11.8-5-2S.loads", data)

# XML-like.
sip11 = [f"{p}.9-4-2ES9.sbn" for p in ("jar11sip", "cnu11", "apps11", "dsp11", "cvm11sip")]
body = '<load name="SIP11.9-4-2SR1-1S">' + "".join(f"<image>{n}</image>" for n in sip11) + "</load>\n"
data, _ = signed("SIP11.9-4-2SR1-1S.loads", body.encode())
write("SIP11.9-4-2SR1-1S.loads", data)

# key=value lines with sizes and digests (69xx images end in .zz.sgn).
sip69 = ["BOOT69xx.0-0-0-14.zz.sgn", "DSP69xx.0-0-0-5.zz.sgn", "SIP69xx.9-4-1-3.zz.sgn"]
body = "".join(f"file={n} size={4096 * (i + 1)} md5={hashlib.md5(n.encode()).hexdigest()}\n" for i, n in enumerate(sip69))
data, _ = signed("SIP69xx.9-4-1-3.loads", body.encode())
write("SIP69xx.9-4-1-3.loads", data)

# No header we know: binary junk, then names.
data = b"\x80" + junk("unsigned", 199) + b"\napps41.9-3-1ES9.sbn\ndsp41.9-3-1ES9.sbn\n"
write("unsigned-junk.loads", data)
