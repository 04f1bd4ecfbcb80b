"""The reader's size limits and special files: bombs and huge shapes fail fast, FIFOs never hang."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from thermocad.io import limits
from thermocad.io.thermal import read_thermal
from thermocad.utils.errors import ThermalFormatError


def run_isolated(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter: its own peak memory, and a hang cannot block pytest."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_gzip_bomb_fails_fast_with_bounded_memory(tmp_path):
    bomb = tmp_path / "T0001.txt.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        for _ in range(512):  # 512 MiB of zeros in about 0.5 MB
            fh.write(bytes(2**20))
    assert bomb.stat().st_size < 600_000
    code = (
        "import re\n"
        "from thermocad.io.thermal import read_thermal\n"
        "try:\n"
        f"    read_thermal({str(bomb)!r}, cache=False)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
        # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child of a big pytest process
        # would report its parent's peak.
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)\n"
        "print(hwm)\n"
    )
    result = run_isolated(code)
    message, measures = result.stdout.strip().splitlines()
    peak_kb = float(measures)
    assert message.startswith("ThermalFormatError") and "decompresses to more than 64 MB" in message
    assert str(bomb) in message
    # Its peak memory (was 2 GB before); run_isolated's timeout stops a hang (the time it
    # takes: benchmarks/bad_inputs.py --memory, docs/benchmarks.md).
    assert peak_kb / 1024 < 400, peak_kb


@pytest.mark.timeout(120)  # a hang fails here, not after the suite's 15 minutes
def test_ten_million_line_column_is_refused_before_parsing(tmp_path):
    path = tmp_path / "T0001.txt"
    path.write_bytes(b"1\n" * 9_900_000)  # 19.8 MB, 9.9 M x 1
    with pytest.raises(ThermalFormatError, match="more than 4,096 lines of numbers") as info:
        read_thermal(path, cache=False)  # 0.03 s; was 83 s in the app (the timeout above)
    assert str(path) in str(info.value)


def test_blank_lines_do_not_count_as_rows(tmp_path):
    path = tmp_path / "T0001.txt"
    path.write_bytes(b"30.1 30.2\n" + b"\n \r\n" * 5000 + b"30.3 30.4\n")
    assert read_thermal(path, cache=False).shape == (2, 2)


def test_too_many_values_and_too_wide_rows_are_refused(tmp_path, monkeypatch):
    wide = tmp_path / "wide.txt"
    wide.write_bytes(b" ".join([b"30"] * 5000) + b"\n")
    with pytest.raises(
        ThermalFormatError, match=r"1 x 5,000 is too large for a thermogram \(a side over 4,096"
    ):
        read_thermal(wide, cache=False)
    monkeypatch.setattr(limits, "MAX_VALUES", 1000)  # the token count runs past 2 bytes/value
    many = tmp_path / "many.txt"
    many.write_bytes(b"30 31 32 33 34\n" * 300)
    with pytest.raises(ThermalFormatError, match="more than 1,000 values"):
        read_thermal(many, cache=False)


def test_huge_files_are_refused_from_their_size(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "T0001.txt"
    path.write_bytes(b"30.1 30.2\n" * 200)
    with pytest.raises(ThermalFormatError, match="too large for a thermal file"):
        read_thermal(path, cache=False)


def test_npy_header_shape_is_checked_before_loading(tmp_path):
    path = tmp_path / "huge.npy"
    header = {"descr": "<f4", "fortran_order": False, "shape": (100_000, 100_000)}
    with open(path, "wb") as fh:  # 40 GB declared, 100 bytes written
        np.lib.format.write_array_header_1_0(fh, header)
        fh.write(bytes(100))
    with pytest.raises(ThermalFormatError, match="100,000 x 100,000 is too large"):
        read_thermal(path)
    np.save(tmp_path / "f.npy", np.full((3, 4), 30.0))
    assert read_thermal(tmp_path / "f.npy").shape == (3, 4)


def test_images_declaring_huge_sizes_are_refused_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    Image.new("L", (5000, 20)).save(path)
    with pytest.raises(ThermalFormatError, match="20 x 5,000 is too large"):
        read_thermal(path)
    import tifffile

    tifffile.imwrite(tmp_path / "big.tif", np.zeros((2, 4100), dtype=np.float32))
    with pytest.raises(ThermalFormatError, match="too large"):
        read_thermal(tmp_path / "big.tif")


def test_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "T0001.txt"
    os.mkfifo(fifo)
    code = (
        "from thermocad.io.thermal import read_thermal\n"
        f"try:\n    read_thermal({str(fifo)!r})\nexcept Exception as exc:\n    print(exc)\n"
    )
    result = run_isolated(code, timeout=30)  # before the fix: blocked in open() forever
    assert result.stdout.strip() == f"{fifo}: is a FIFO (named pipe), not a thermal file"


def test_socket_and_device_are_refused(tmp_path):
    path = tmp_path / "s.txt"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        with pytest.raises(ThermalFormatError, match="is a socket, not a thermal file"):
            read_thermal(path)
    with pytest.raises(ThermalFormatError, match="is a device, not a thermal file"):
        read_thermal("/dev/zero")


def test_symlink_loop_is_a_clear_error(tmp_path):
    (tmp_path / "a.txt").symlink_to(tmp_path / "b.txt")
    (tmp_path / "b.txt").symlink_to(tmp_path / "a.txt")
    with pytest.raises(ThermalFormatError, match="cannot read the file .*symbolic links"):
        read_thermal(tmp_path / "a.txt")


def test_a_long_bad_token_is_refused_in_linear_time(tmp_path):
    path = tmp_path / "T0001.txt"
    path.write_bytes(b"30.1 " + b"1" * 1_000_000 + b"x\n")  # a 20 KB one took 46 s before
    code = (
        "from thermocad.io.thermal import read_thermal\n"
        f"try:\n    read_thermal({str(path)!r}, cache=False)\nexcept Exception as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    # 0.02 s; quadratic, it would take hours, and the timeout fails it.
    assert run_isolated(code, timeout=120).stdout.split() == ["ThermalFormatError"]


def test_npy_header_length_is_checked_before_numpy_reads_it(tmp_path):
    import tracemalloc

    path = tmp_path / "T0001.npy"
    path.write_bytes(b"\x93NUMPY\x02\x00" + (4_000_000_000).to_bytes(4, "little") + bytes(100))
    tracemalloc.start()
    try:
        with pytest.raises(
            ThermalFormatError, match=r"damaged \.npy header \(claims 4,000,000,000"
        ):
            read_thermal(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # numpy alone allocates the 4 GB it was told to read


def test_reading_a_small_file_allocates_little(tmp_path):
    import tracemalloc

    path = tmp_path / "T0001.txt"
    path.write_bytes(b"30.10 30.20\n30.30 30.40\n" * 100)
    # Once before measuring: a first read imports the reader's libraries and compiles its
    # kernel (50 MB), which a test run alone had counted (an isolation review).
    read_thermal(path, cache=False)
    tracemalloc.start()
    try:
        read_thermal(path, cache=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20  # read(MAX_TEXT_BYTES + 1) had allocated 64 MiB for 2.4 KB


def test_a_run_of_decimal_marks_is_refused_in_bounded_memory(tmp_path):
    import tracemalloc

    path = tmp_path / "T0001.txt"
    path.write_bytes(b"." * 2**22 + b"\n")  # 4 MiB; 60 MB of them took 2.3 GB before
    tracemalloc.start()
    try:
        with pytest.raises(ThermalFormatError, match=r"line 1: '\.{40}\.\.\.' is not a number"):
            read_thermal(path, cache=False)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**22, peak / 2**20  # 20 MiB now; 144 MiB (36x the file) before


def test_the_size_refusal_names_the_limit_exceeded():
    from thermocad.io.limits import check_shape

    with pytest.raises(
        ThermalFormatError, match=r"4,000 x 4,000 is too large .*16,000,000 values, over 4,194,304"
    ):
        check_shape((4000, 4000), "big.png")  # each side is allowed; the count is not
    check_shape((480, 640), "ok.png")
