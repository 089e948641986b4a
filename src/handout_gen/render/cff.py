"""Cut a CID-keyed CFF font program down to some of its glyphs, with new compact glyph ids.

Written against the CFF specification (Adobe Technical Note #5176) rather than with fontTools,
whose parser reads all 65,000 entries of a CJK face's charset and charstring index (about
50 ms a face); this reads only the kept glyphs' entries, and copies their charstrings as
bytes. That is sound only for charstrings that call no subroutines, which is what HarfBuzz
writes (WeasyPrint subsets with its desubroutinize flag): a program with global or local
subroutines, or one that is not CID-keyed, raises :class:`CffError`.
"""

from __future__ import annotations

import struct

# Top DICT and Font DICT operators (escaped ones as 1200 + second byte).
CHARSET, CHARSTRINGS, PRIVATE, SUBRS, ENCODING = 15, 17, 18, 19, 16
ROS, CID_COUNT, FD_ARRAY, FD_SELECT = 1230, 1234, 1236, 1237
_OFFSETS = (CHARSET, CHARSTRINGS, FD_ARRAY, FD_SELECT)


class CffError(Exception):
    """A CFF program this module does not cut (or a malformed one)."""


def _index(data: bytes, pos: int) -> tuple[list[tuple[int, int]], int]:
    """An INDEX at ``pos``: each item's (start, end) in ``data``, and where the INDEX ends."""
    (count,) = struct.unpack_from(">H", data, pos)
    if count == 0:
        return [], pos + 2
    size = data[pos + 2]
    base = pos + 3 + (count + 1) * size - 1  # offsets count from the byte before the data
    offsets = [int.from_bytes(data[pos + 3 + i * size : pos + 3 + (i + 1) * size]) for i in range(count + 1)]
    return [(base + offsets[i], base + offsets[i + 1]) for i in range(count)], base + offsets[-1]


def _index_item(data: bytes, pos: int, item: int) -> bytes:
    """One item of an INDEX without reading the others' offsets."""
    (count,) = struct.unpack_from(">H", data, pos)
    if not 0 <= item < count:
        raise CffError("glyph id past the charstrings")
    size = data[pos + 2]
    base = pos + 3 + (count + 1) * size - 1

    def offset(i: int) -> int:
        return int.from_bytes(data[pos + 3 + i * size : pos + 3 + (i + 1) * size])

    return data[base + offset(item) : base + offset(item + 1)]


def _make_index(items: list[bytes]) -> bytes:
    if not items:
        return b"\0\0"
    end = 1 + sum(len(item) for item in items)
    size = 1 if end < 1 << 8 else 2 if end < 1 << 16 else 3 if end < 1 << 24 else 4
    offsets = [(1).to_bytes(size)]
    at = 1
    for item in items:
        at += len(item)
        offsets.append(at.to_bytes(size))
    return struct.pack(">HB", len(items), size) + b"".join(offsets) + b"".join(items)


def _dict(data: bytes) -> list[tuple[int, list[int | None], bytes]]:
    """A DICT as (operator, integer operands (None for reals), raw operand bytes) entries."""
    entries: list[tuple[int, list[int | None], bytes]] = []
    operands: list[int | None] = []
    start = pos = 0
    while pos < len(data):
        b = data[pos]
        if b <= 21:  # an operator
            op = 1200 + data[pos + 1] if b == 12 else b
            entries.append((op, operands, data[start:pos]))
            pos += 2 if b == 12 else 1
            start, operands = pos, []
        elif b == 28:
            operands.append(struct.unpack_from(">h", data, pos + 1)[0])
            pos += 3
        elif b == 29:
            operands.append(struct.unpack_from(">i", data, pos + 1)[0])
            pos += 5
        elif b == 30:  # a real: nibbles up to an 0xf
            pos += 1
            while data[pos] & 0x0F != 0x0F and data[pos] >> 4 != 0x0F:
                pos += 1
            operands.append(None)
            pos += 1
        elif 32 <= b <= 246:
            operands.append(b - 139)
            pos += 1
        elif 247 <= b <= 250:
            operands.append((b - 247) * 256 + data[pos + 1] + 108)
            pos += 2
        elif 251 <= b <= 254:
            operands.append(-(b - 251) * 256 - data[pos + 1] - 108)
            pos += 2
        else:
            raise CffError("malformed DICT")
    return entries


def _encode(op: int, raw: bytes) -> bytes:
    return raw + (bytes([12, op - 1200]) if op >= 1200 else bytes([op]))


def _int(value: int) -> bytes:
    """An integer operand in its 5-byte form, so a DICT's size does not depend on offsets."""
    return b"\x1d" + struct.pack(">i", value)


def subset_cid_cff(data: bytes, keep: list[int]) -> bytes:
    """The CFF of the glyphs ``keep`` (sorted ids, 0 first), glyph i of the result being
    ``keep[i]``, named CID i so that CID = GID as Identity-H text needs."""
    major, _, header_size = data[0], data[1], data[2]
    if major != 1 or not keep or keep[0] != 0:
        raise CffError("not a CFF 1 program")
    names, tops_start = _index(data, header_size)
    tops, pos = _index(data, tops_start)
    strings_start = pos
    _, pos = _index(data, pos)
    subrs, gsubrs_end = _index(data, pos)
    if len(names) != 1 or len(tops) != 1 or subrs:
        raise CffError("several fonts or global subroutines")
    top = _dict(data[slice(*tops[0])])
    ops = {op: operands for op, operands, _ in top}
    if ROS not in ops or FD_ARRAY not in ops or ENCODING in ops or PRIVATE in ops:
        raise CffError("not CID-keyed")
    charstrings_at = _offset(ops, CHARSTRINGS)
    glyphs = [_index_item(data, charstrings_at, gid) for gid in keep]
    fds = _fd_select(data, _offset(ops, FD_SELECT), keep) if FD_SELECT in ops else [0] * len(keep)
    font_dicts, privates = _font_dicts(data, _offset(ops, FD_ARRAY))

    count = len(keep)
    charset = b"\x02" + struct.pack(">HH", 1, count - 2) if count > 1 else b"\x00"
    fd_select = b"\x00" + bytes(fds)
    charstrings = _make_index(glyphs)
    head = data[:tops_start]  # header and Name INDEX, as they were
    tail = data[strings_start:gsubrs_end]

    def top_dict(at: dict[int, int]) -> bytes:
        parts = []
        for op, _operands, raw in top:
            if op in at:
                raw = _int(at[op])
            elif op == CID_COUNT:
                raw = _int(count)
            parts.append(_encode(op, raw))
        return b"".join(parts)

    top_size = len(_make_index([top_dict(dict.fromkeys(_OFFSETS, 0))]))
    at_charset = len(head) + top_size + len(tail)
    at = {CHARSET: at_charset, FD_SELECT: at_charset + len(charset)}
    at[CHARSTRINGS] = at[FD_SELECT] + len(fd_select)
    at[FD_ARRAY] = at[CHARSTRINGS] + len(charstrings)
    fd_array = _fd_array(font_dicts, privates, at[FD_ARRAY])
    body = charset + fd_select + charstrings + fd_array + b"".join(privates)
    return head + _make_index([top_dict({op: at[op] for op in _OFFSETS if op in ops})]) + tail + body


def _offset(ops: dict[int, list[int | None]], op: int) -> int:
    operands = ops.get(op)
    if not operands or operands[-1] is None:
        raise CffError(f"no offset for operator {op}")
    return operands[-1]


def _fd_select(data: bytes, pos: int, keep: list[int]) -> list[int]:
    """The Font DICT of each kept glyph."""
    fmt = data[pos]
    if fmt == 0:
        return [data[pos + 1 + gid] for gid in keep]
    if fmt != 3:
        raise CffError("FDSelect format")
    (ranges,) = struct.unpack_from(">H", data, pos + 1)
    firsts = [struct.unpack_from(">HB", data, pos + 3 + 3 * i) for i in range(ranges)]
    result, index = [], 0
    for gid in keep:  # keep is sorted: one walk over the ranges
        while index + 1 < ranges and firsts[index + 1][0] <= gid:
            index += 1
        result.append(firsts[index][1])
    return result


def _font_dicts(data: bytes, pos: int) -> tuple[list[list[tuple[int, list[int | None], bytes]]], list[bytes]]:
    """The Font DICTs and their Private DICTs (which must not use local subroutines)."""
    items, _ = _index(data, pos)
    dicts, privates = [], []
    for start, end in items:
        entries = _dict(data[start:end])
        ops = {op: operands for op, operands, _ in entries}
        size, offset = (ops.get(PRIVATE) or [None, None])[-2:]
        if size is None or offset is None:
            raise CffError("Font DICT without a Private DICT")
        private = data[offset : offset + size]
        if any(op == SUBRS for op, _, _ in _dict(private)):
            raise CffError("local subroutines")
        dicts.append(entries)
        privates.append(private)
    return dicts, privates


def _fd_array(
    font_dicts: list[list[tuple[int, list[int | None], bytes]]], privates: list[bytes], at: int
) -> bytes:
    """The FDArray INDEX at offset ``at``, its Private DICTs following it in order."""

    def encode(offsets: list[int]) -> bytes:
        items = []
        for entries, private, offset in zip(font_dicts, privates, offsets, strict=True):
            items.append(
                b"".join(
                    _encode(op, _int(len(private)) + _int(offset) if op == PRIVATE else raw)
                    for op, _, raw in entries
                )
            )
        return _make_index(items)

    size = len(encode([0] * len(privates)))
    offsets, next_at = [], at + size
    for private in privates:
        offsets.append(next_at)
        next_at += len(private)
    return encode(offsets)
