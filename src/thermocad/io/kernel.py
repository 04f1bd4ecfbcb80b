"""The compiled inner loop of the fixed-width text reader (numba; imported on first use).

`read_lines` checks each line of a DMR-IR text matrix against line 1's template and reads
its fixed-width tokens with SWAR arithmetic: the 8 bytes holding (part of) a token are one
64-bit integer, and three multiply-shift-mask steps turn its 8 digits into their number.
"""

from __future__ import annotations

import numba
import numpy as np

_U8 = np.uint64(8)


def _jit(**options):
    """numba.njit with its compiled code cached on disk, or compiled in each process where
    numba finds no folder to cache in (a read-only install run by a user without a writable
    home, such as a service account; NUMBA_CACHE_DIR names one)."""

    def wrap(fn):
        try:
            return numba.njit(nogil=True, cache=True, **options)(fn)
        except RuntimeError:  # "cannot cache function ...: no locator available"
            return numba.njit(nogil=True, **options)(fn)

    return wrap


@_jit(inline="always")
def _part(text, at, shift, template, before, after):
    """The integer written by one part of a token: up to 8 bytes, at most one decimal mark.

    The 8 bytes from `at` are one little-endian integer (byte k = the k-th character);
    shifted left, the part's bytes fill the top and what lies after it falls off. Xor with
    the template ('0' at digits, the mark itself at the mark) leaves each digit's value in
    its byte and 0 at the mark, and the bytes before the mark move up by one over it, so the
    part reads as a number of 8 digits with leading zeros.
    """
    x = np.uint64(0)
    for k in range(8):  # LLVM merges these byte loads into one 64-bit load
        x |= np.uint64(text[at + np.uint64(k)]) << (_U8 * np.uint64(k))
    x = (x << shift) ^ template
    x = ((x & before) << _U8) | (x & after)
    # Adjacent digits (first character lowest byte) to pairs, pairs to fours, fours to 8.
    x = ((x * np.uint64(10 * 256 + 1)) >> _U8) & np.uint64(0x00FF00FF00FF00FF)
    x = ((x * np.uint64(100 * 65536 + 1)) >> np.uint64(16)) & np.uint64(0x0000FFFF0000FFFF)
    return (x * np.uint64(10000 * 2**32 + 1)) >> np.uint64(32)


@_jit()
def read_lines(text, rows, line_len, template, limit, step, parts, low_digits, out):
    """Check `rows` lines of `text` against the template and write their integers into `out`.

    A line fits when every byte xor its template byte is at most its limit (9 at digits, 0
    elsewhere: a digit xor '0' is 0..9, and any other byte gives more). False at the first
    line that does not fit (`out` is then undefined). A token's integer: its digits without
    the decimal mark, its parts joined by 10**low_digits. The caller makes sure that the 8
    bytes read for the last token of the last row exist.
    """
    cols = out.shape[1]
    wide = parts.shape[0] == 2
    # Each part of a token (one, or a high and a low one for tokens over 8 bytes): offset in
    # the token, shift, template and the masks before and after the mark.
    h_at, h_shift, h_template, h_before, h_after = parts[0]
    at, shift, template8, before, after = parts[-1]
    join = np.uint64(10**low_digits)
    for r in range(rows):
        start = r * line_len
        line = text[start : start + line_len]
        worst = np.uint8(0)
        for i in range(line_len):  # a max of each byte's excess, which LLVM vectorises
            v = np.uint8(line[i] ^ template[i])
            worst = max(worst, np.uint8(v - min(v, limit[i])))
        if worst:
            return False
        row = out[r]
        for c in range(cols):
            token = np.uint64(start + c * step)
            x = _part(text, token + at, shift, template8, before, after)
            if wide:
                x += _part(text, token + h_at, h_shift, h_template, h_before, h_after) * join
            row[np.uint64(c)] = np.int64(x)
    return True
