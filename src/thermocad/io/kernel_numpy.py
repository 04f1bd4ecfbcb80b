"""`thermocad.io.kernel.read_lines` in vectorised numpy, for installs without numba.

Same arguments, same results: every line checked against line 1's template, then each
token's integer accumulated digit by digit (the template's digit positions) over all tokens
at once. Slower than the compiled loop, several times faster than the general numpy parser
(docs/benchmarks.md).
"""

from __future__ import annotations

import numpy as np


def read_lines(text, rows, line_len, template, limit, step, parts, low_digits, out) -> bool:
    """Check `rows` lines of `text` against the template and write their integers into `out`.

    `parts` and `low_digits` (how the compiled loop splits long tokens) are not needed here:
    a token's integer is its digits without the decimal mark, read at once in int64.
    """
    lines = np.asarray(text[: rows * line_len]).reshape(rows, line_len)
    # A line fits when every byte xor its template byte is at most its limit (9 at digits).
    if rows and (np.bitwise_xor(lines, template) > limit).any():
        return False
    cols = out.shape[1]
    values = np.zeros((rows, cols), dtype=np.int64)
    for k in np.flatnonzero(limit[: step - 1] == 9):  # each digit offset in a token
        # Byte k of every token of every line: a strided view, no copy.
        values *= 10
        values += lines[:, k : k + (cols - 1) * step + 1 : step] - np.uint8(48)
    out[:rows] = values
    return True
