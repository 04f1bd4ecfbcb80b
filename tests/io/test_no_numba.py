"""The reader without numba (no [fast] extra): the numpy paths give the same values."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from thermocad.io.text import parse_text

ROOT = Path(__file__).resolve().parents[2]

# numba made unimportable the way a missing package is: sys.modules[name] = None.
SCRIPT = textwrap.dedent(
    """
    import sys
    sys.modules["numba"] = None
    import numpy as np
    from thermocad.io import fixed_width, text
    assert fixed_width._kernel().__module__ == "thermocad.io.kernel_numpy"
    for src, dst in zip(sys.argv[1::2], sys.argv[2::2]):
        values, fmt, _ = text.parse_text(open(src, "rb").read(), src)
        np.save(dst, values)
        print(fmt)
    assert "numba" not in [m for m, v in sys.modules.items() if v is not None]
    """
)


def _matrix(rng: np.random.Generator, decimals: int, sep: str) -> bytes:
    values = rng.uniform(24, 36, (48, 64))
    rows = [sep.join(f"{v:.{decimals}f}" for v in row) for row in values]
    return ("\r\n".join(rows) + "\r\n").encode()


def _parse_without_numba(files: list[Path], tmp_path: Path) -> list[np.ndarray]:
    outs = [tmp_path / f"{f.stem}.npy" for f in files]
    args = [str(p) for pair in zip(files, outs, strict=True) for p in pair]
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", SCRIPT, *args], check=True, cwd=tmp_path, env=env)
    return [np.load(o) for o in outs]


def test_fixed_width_files_read_the_same_without_numba(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    files = []
    for name, decimals, sep in (("a", 2, " "), ("b", 5, ";"), ("c", 7, " ")):
        path = tmp_path / f"{name}.txt"
        path.write_bytes(_matrix(rng, decimals, sep))
        files.append(path)
    # A line that breaks line 1's layout: the template check rejects it, the general paths read.
    odd = tmp_path / "d.txt"
    text = _matrix(rng, 2, " ").split(b"\r\n")
    text[20] = text[20].replace(b".", b".0", 1)
    odd.write_bytes(b"\r\n".join(text))
    files.append(odd)
    for path, values in zip(files, _parse_without_numba(files, tmp_path), strict=True):
        expected = parse_text(path.read_bytes(), str(path))[0]  # with numba, in this process
        np.testing.assert_array_equal(values, expected)


@pytest.mark.real
def test_real_files_read_the_same_without_numba(dmr_dir: Path, tmp_path: Path) -> None:
    files = sorted(dmr_dir.glob("T*.txt"))
    # Both batches: spaces with 2 decimals, and ';' with 5.
    picked = [f for f in files if b";" in f.read_bytes()[:4096]][:2]
    picked += [f for f in files if b";" not in f.read_bytes()[:4096]][:2]
    for path, values in zip(picked, _parse_without_numba(picked, tmp_path), strict=True):
        np.testing.assert_array_equal(values, parse_text(path.read_bytes(), str(path))[0])


# numba with no folder to cache its code in (a read-only install, a service account without a
# writable home): it raises "no locator available" when a cached function is defined.
NO_CACHE = textwrap.dedent(
    """
    import sys
    import numba.core.caching
    numba.core.caching.CacheImpl._locator_classes = []
    import numpy as np
    from thermocad.io import fixed_width, text
    assert fixed_width._kernel().__module__ == "thermocad.io.kernel"  # numba's, uncached
    values, fmt, _ = text.parse_text(open(sys.argv[1], "rb").read(), sys.argv[1])
    np.save(sys.argv[2], values)
    """
)


def test_numba_without_a_folder_to_cache_in_still_reads(tmp_path: Path) -> None:
    pytest.importorskip("numba")
    path = tmp_path / "a.txt"
    path.write_bytes(_matrix(np.random.default_rng(5), 2, " "))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, "-c", NO_CACHE, str(path), str(tmp_path / "a.npy")],
                   check=True, cwd=tmp_path, env=env)  # fmt: skip
    expected = parse_text(path.read_bytes(), str(path))[0]
    np.testing.assert_array_equal(np.load(tmp_path / "a.npy"), expected)
