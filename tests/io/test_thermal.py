"""Reader tests: every DMR text variant against numpy.loadtxt, images, .npy, bad input, cache."""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from thermocad.io.cache import cache_dir
from thermocad.io.thermal import read_many, read_thermal
from thermocad.utils.errors import ThermalFormatError


def matrix(rows: int = 6, cols: int = 8, seed: int = 0, decimals: int = 2) -> np.ndarray:
    return np.round(np.random.default_rng(seed).uniform(18, 37, (rows, cols)), decimals)


def to_text(a, sep=" ", dec=".", fmt="%.2f", trailing=False, eol="\n", final_eol=True) -> str:
    lines = [
        sep.join((fmt % v).replace(".", dec) for v in row) + (sep if trailing else "") for row in a
    ]
    return eol.join(lines) + (eol if final_eol else "")


def reference(text: str) -> np.ndarray:
    """numpy.loadtxt on the same text with separators and decimal marks normalised."""
    clean = text.replace("\r", "\n").replace(";", " ")
    if "." not in clean:
        clean = clean.replace(",", ".")
    return np.loadtxt(io.StringIO(clean), ndmin=2).astype(np.float32)


def write(tmp_path, text: str | bytes, name: str = "T0001.txt"):
    path = tmp_path / name
    data = text.encode() if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


VARIANTS = {
    "dmr-space": dict(sep=" ", fmt="%.2f"),
    "dmr-semicolon": dict(sep=";", fmt="%.5f", trailing=True, eol="\r\r\n"),
    "dmr-comma-decimal": dict(sep=";", dec=",", fmt="%.4f"),
    "comma-decimal-space": dict(sep=" ", dec=",", fmt="%.2f"),
    "tabs-crlf": dict(sep="\t", fmt="%.3f", eol="\r\n"),
    "double-space-trailing": dict(sep="  ", fmt="%.2f", trailing=True),
    "no-final-eol": dict(sep=" ", fmt="%.2f", final_eol=False),
    "cr-only": dict(sep=" ", fmt="%.2f", eol="\r"),
    "varied-widths": dict(sep=" ", fmt="%g"),
    "integers": dict(sep=" ", fmt="%.0f"),
    "exponents": dict(sep=" ", fmt="%.3e"),
    "signed": dict(sep=";", fmt="%+.2f"),
    "twelve-digits": dict(sep=";", fmt="%.10f"),
    "long-tokens": dict(sep=" ", fmt="%.17f"),
}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (7, 1), (6, 8), (64, 80)])
def test_text_variants_match_loadtxt(tmp_path, variant, shape):
    text = to_text(matrix(*shape, decimals=3), **VARIANTS[variant])
    th = read_thermal(write(tmp_path, text), cache=False)
    assert th.unit == "celsius" and th.array.dtype == np.float32
    np.testing.assert_array_equal(th.array, reference(text))


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("dmr-space", "dmr-space"),
        ("dmr-semicolon", "dmr-semicolon"),
        ("dmr-comma-decimal", "dmr-semicolon-comma-decimal"),
        ("comma-decimal-space", "dmr-space-comma-decimal"),
    ],
)
def test_source_format_is_reported(tmp_path, variant, expected):
    assert (
        read_thermal(write(tmp_path, to_text(matrix(), **VARIANTS[variant]))).source_format
        == expected
    )


def test_gzip_text(tmp_path):
    text = to_text(matrix(), sep=";", fmt="%.5f")
    th = read_thermal(write(tmp_path, text, "T0001.1.1.S.2016-01-01.10.txt.gz"))
    np.testing.assert_array_equal(th.array, reference(text))


@pytest.mark.parametrize("name", ["T9005.txt.gz", "T9005.TXT.GZ", "T9005.gz"])
def test_a_gz_name_on_a_file_that_is_not_gzip_is_said_as_such(tmp_path, name):
    # Not parsed as text ("line 1: 'not' is not a number"): the name promises gzip data.
    path = tmp_path / name
    for data in (b"not gzip", b"30.1 30.2\n30.3 30.4\n"):  # even a text matrix: rename it
        path.write_bytes(data)
        with pytest.raises(ThermalFormatError, match=rf"^{path}: not a gzip file \(its name ends"):
            read_thermal(path, cache=False)


@pytest.mark.parametrize("name", ["T0287.npy.gz", "T0287.png.gz", "T0287.TIF.gz", "x.jpeg.gz"])
def test_a_gzipped_image_or_npy_is_refused_by_name(tmp_path, name):
    inner = name.split(".")[-2].lower()
    with pytest.raises(
        ThermalFormatError,
        match=rf"^{tmp_path}/{name}: a gzipped \.{inner} file; only text matrices are read gzipped",
    ):
        read_thermal(write(tmp_path, b"\x93NUMPY or an image's bytes", name))
    for text_name in ("T0288.csv.gz", "T0289.dat.gz", "T0290.gz"):  # text: read as before
        assert read_thermal(write(tmp_path, "30.1 30.2\n30.3 30.4\n", text_name)).shape == (2, 2)


def test_utf8_byte_order_mark(tmp_path):
    th = read_thermal(write(tmp_path, "\ufeff30.10 30.20\r\n30.30 30.40\r\n"))
    np.testing.assert_array_equal(th.array, np.array([[30.1, 30.2], [30.3, 30.4]], np.float32))


def test_blank_lines_are_skipped_and_lines_counted(tmp_path):
    text = "30.1 30.2\n\n30.3 30.4\n   \n30.5 x\n"
    with pytest.raises(ThermalFormatError, match=r"line 5: 'x' is not a number"):
        read_thermal(write(tmp_path, text))
    th = read_thermal(write(tmp_path, "30.1 30.2\n\n30.3 30.4\n", "b.txt"))
    assert th.shape == (2, 2)


BAD_TEXT = {
    "": "empty",
    " \r\n\t\n": "holds only spaces and line ends, no numbers",
    "30.1 30.2\n30.3 abc\n": r"line 2: 'abc' is not a number",
    "30.1 30.2\n30.3 30.4 30.5\n": r"line 2: 3 values, but line 1 has 2 \(rows must",
    "30.10 30.20\n30.30\n": r"line 2: 1 values, but line 1 has 2",
    "30.1 nan\n30.3 30.4\n": r"line 1: value nan in column 2 is not finite",
    "30.1 30.2\n30.3 inf\n": r"line 2: value inf .*not finite",
    "30.1 30.2\n30.3 72.5\n": r"line 2: value 72.50 in column 2 is outside the plausible range",
    "30.1 -3.2\n": r"line 1: value -3.20 in column 2 is outside the plausible range of temp",
    "30.1 3.0.2\n": r"line 1: '3.0.2' is not a number",
    "30.1 . 30.2\n": r"line 1: '.' is not a number",
    "30.1 1e999\n": r"not finite",
    "\x00\x01\x02": r"binary data, not a text matrix",
    "%PDF-1.4\n%text only\n": r"T0001\.txt: a PDF document, not a text matrix",  # not "line 1"
    "\x00" * 128 + "DICM\x02\x00\x00\x00UL": r"T0001\.txt: a DICOM file, which thermocad does "
    r"not read",  # not "UTF-16 text" (its preamble's zero bytes)
    "BMI,diagnosis\n31,Sick\n": r"line 1: 'BMI' is not a number: a table's header\?",  # no BMP
    "\x00" * 4096: r"only zero bytes: a copy or save that did not finish\?",  # not UTF-16
    "30,1,2;30,2\n": r"not a number",
    # A labels CSV given as a thermogram: its header says what it is.
    "patient_id,diagnosis\n1,Sick\n": r"line 1: 'patient_id' is not a number: a table's header\? "
    r"\(a labels CSV, say\): not a temperature matrix$",
    "30.1 30.2\n30.3,abc\n": r"line 2: 'abc' is not a number$",  # a row of numbers first: no hint
    "30.10x30.20\n30.30x30.40\n": r"line 1: '30.10x30.20' is not a number",  # fixed-width path
    # An empty field reads as a short row: the line holding it is named, not the next one.
    "30.1;;30.3\n30.4;30.5;30.6\n": r"line 1: an empty field \(two ';' with no value between\)",
    "30.1;30.2;30.3;\n30.4;;30.6;\n": r"line 2: an empty field",
    # Rows that start with ';' are no empty field: a short row is still named itself.
    ";30.1;30.2;30.3\n;30.4;30.5;30.6\n;30.7;30.8\n": r"line 3: 2 values, but 2 of the 3 lines have 3",
    # A column left empty in every row, in a comma or tab export: refused, not read one short
    # with each value after it shifted (a review of camera exports).
    "30.1,,30.3\n30.4,,30.6\n": r"line 1: an empty field \(two ',' with no value between\)",
    "30.1 ; 30.2\n30.4 ; ; 30.6\n": r"line 2: an empty field \(two ';'",  # spaced (the fuzz)
    "30.1\t30.2\n30.4\t\t30.6\n": r"line 2: an empty field \(two tabs with no value between\)\. Every cell needs a temperature: fill in the missing value, or delete the empty column",
}


def test_binary_data_with_many_line_end_bytes_is_said_to_be_binary_not_too_long(tmp_path):
    """Random bytes (or a .npy, a TIFF) named .txt hold a line-end byte every 256 on average:
    a megabyte of them had been refused as 'more than 4,096 lines'."""
    noise = np.random.default_rng(0).integers(1, 256, 3_000_000, dtype=np.uint8).tobytes()
    with pytest.raises(ThermalFormatError, match=r"noise\.txt: binary data, not a text matrix"):
        read_thermal(write(tmp_path, noise, "noise.txt"))


@pytest.mark.parametrize("token", ["30.25", "3.025e1"])  # the fast path, the general one
def test_a_ragged_row_is_named_against_the_most_common_length(tmp_path, token):
    """A short line 1 is the odd one, not line 2 (479 lines agreed with each other)."""
    rows = [" ".join([token] * 6)] * 9
    short = [" ".join([token] * 5), *rows]
    with pytest.raises(ThermalFormatError, match=r"line 1: 5 values, but 9 of the 10 lines have "
                       r"6 \(rows must all have the same length\)"):  # fmt: skip
        read_thermal(write(tmp_path, "\n".join(short) + "\n"))
    several = [*rows[:2], " ".join([token] * 7), rows[0], " ".join([token] * 5), *rows[:5]]
    several += [" ".join([token] * 4)] * 4
    with pytest.raises(ThermalFormatError, match=r"line 3: 7 values, but 8 of the 14 lines have "
                       r"6; line\(s\) 5 \(5 values\), 11 \(4 values\), 12 \(4 values\) and 2 "
                       r"more too \(rows"):  # fmt: skip
        read_thermal(write(tmp_path, "\n".join(several) + "\n", "b.txt"))


def test_a_header_of_column_numbers_over_indexed_rows_is_said(tmp_path):
    """A matrix saved with its header and index (pandas' to_csv): line 1 numbers the columns."""
    rows = ["0,1,2,3,4"] + [f"{i},30.1,30.2,30.3,30.4,30.5" for i in range(8)]
    with pytest.raises(ThermalFormatError, match=r"line 1: 5 values, but 8 of the 9 lines have "
                       r"6 \(rows must all have the same length; line 1 numbers the columns: "
                       r"save the matrix without a header or index\)"):  # fmt: skip
        read_thermal(write(tmp_path, "\n".join(rows) + "\n", "t.csv"))


@pytest.mark.parametrize(("text", "message"), list(BAD_TEXT.items()))
def test_bad_text_raises_with_file_and_line(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ThermalFormatError, match=message) as info:
        read_thermal(path)
    assert str(path) in str(info.value)


def test_utf16_text_is_named_as_such(tmp_path):
    # Notepad's "Unicode" is UTF-16: every other byte NUL, which once read as '3\x002...'.
    path = tmp_path / "T0001.txt"
    path.write_bytes("30.1 30.2\n30.3 30.4\n".encode("utf-16"))
    with pytest.raises(ThermalFormatError, match=r"T0001\.txt: UTF-16 .*plain text"):
        read_thermal(path)


def test_unreadable_paths(tmp_path):
    with pytest.raises(ThermalFormatError, match="cannot read"):
        read_thermal(tmp_path / "missing.txt")
    with pytest.raises(ThermalFormatError, match="directory"):
        read_thermal(tmp_path)
    with pytest.raises(ThermalFormatError, match="cannot read"):
        read_thermal(write(tmp_path, b"\x1f\x8bnot really gzip", "bad.txt"))


def save_image(tmp_path, array, name, mode=None):
    path = tmp_path / name
    Image.fromarray(array, mode=mode).save(path) if mode else Image.fromarray(array).save(path)
    return path


def test_grey_images_are_intensity(tmp_path):
    grey8 = np.random.default_rng(0).integers(0, 256, (64, 80), dtype=np.uint8)
    th = read_thermal(save_image(tmp_path, grey8, "a.png"))
    assert (th.unit, th.source_format) == ("intensity", "image-png")
    np.testing.assert_array_equal(th.array, grey8.astype(np.float32))
    grey16 = (grey8.astype(np.uint16) * 257).astype(np.uint16)
    th16 = read_thermal(save_image(tmp_path, grey16, "b.png"))
    np.testing.assert_allclose(th16.array, grey8)  # 16-bit levels on the 8-bit scale
    dark16 = (grey16 // 1000).astype(np.uint16)  # a dark 16-bit image: every level under 256
    th_dark = read_thermal(save_image(tmp_path, dark16, "dark.png"))
    np.testing.assert_allclose(th_dark.array, dark16 / 257, rtol=1e-6)  # not read as 8-bit
    rgb = np.repeat(grey8[..., None], 3, axis=2)
    np.testing.assert_array_equal(read_thermal(save_image(tmp_path, rgb, "c.png")).array, grey8)
    rgba = np.dstack([rgb, np.full_like(grey8, 255)])
    np.testing.assert_array_equal(read_thermal(save_image(tmp_path, rgba, "d.png")).array, grey8)
    smooth = np.tile(np.linspace(0, 255, 80, dtype=np.uint8), (64, 1))
    jpeg = read_thermal(save_image(tmp_path, np.repeat(smooth[..., None], 3, axis=2), "e.jpg"))
    assert jpeg.source_format == "image-jpeg" and np.abs(jpeg.array - smooth).max() <= 3


def test_tiff_images(tmp_path):
    import tifffile

    grey16 = np.random.default_rng(1).integers(0, 65536, (16, 20), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "a.tif", grey16)
    th = read_thermal(tmp_path / "a.tif")
    assert th.unit == "intensity" and th.source_format == "image-tiff"
    np.testing.assert_allclose(th.array, grey16 / 257, rtol=1e-6)
    temps = matrix(16, 20).astype(np.float32)
    tifffile.imwrite(tmp_path / "b.tiff", temps)
    tb = read_thermal(tmp_path / "b.tiff")
    assert tb.unit == "celsius" and tb.source_format == "image-tiff-float"
    np.testing.assert_array_equal(tb.array, temps)
    # A grey export saved as floats is read as °C, and the refusal says so (a review).
    from thermocad.preprocess.plausible import check_plausible
    from thermocad.utils.errors import ThermalFormatError

    tifffile.imwrite(tmp_path / "c.tif", (grey16 / 257).astype(np.float32))
    with pytest.raises(ThermalFormatError, match=r"outside the plausible range of temperatures, "
                       r".*; a floating-point image is read as temperatures in °C: export grey "
                       "images as 8-bit or 16-bit integer images"):  # fmt: skip
        read_thermal(tmp_path / "c.tif")
    tifffile.imwrite(tmp_path / "d.tif", (grey16 / 65535).astype(np.float32))  # 0-1: read
    with pytest.raises(ThermalFormatError, match=r"too small .*can judge \(a floating-point "
                       r"image is read as temperatures in °C"):  # fmt: skip
        check_plausible(read_thermal(tmp_path / "d.tif"))


def test_a_damaged_tiff_is_refused_before_decoding(tmp_path, monkeypatch):
    """A fuzz review: a compressed TIFF whose height was raised got its missing rows as zeros
    (0 degC, plausible), one whose strip claims 4 GiB asked for them, a width of 0 crashed."""
    import tifffile

    temps = matrix(16, 20).astype(np.float32)
    edits = {"tall": ("ImageLength", 32, r"damaged TIFF \(1 of the 2 strips"),
             "huge": ("StripByteCounts", 2**32 - 1, "damaged TIFF .a strip or tile of its image "
                      "is empty or lies beyond the file's end"),
             "empty": ("StripByteCounts", 0, "damaged TIFF .a strip or tile"),
             "one more": ("StripByteCounts", None, "damaged TIFF .a strip or tile")}  # fmt: skip
    for name, (tag, value, says) in edits.items():
        path = tmp_path / f"{name}.tif"
        tifffile.imwrite(path, temps, compression="zlib", rowsperstrip=16)
        with tifffile.TiffFile(path, mode="r+b") as tif:
            if value is None:  # the strip one byte past the file's end
                value = path.stat().st_size - tif.pages[0].dataoffsets[0] + 1
            tif.pages[0].tags[tag].overwrite(value)
        with pytest.raises(ThermalFormatError, match=f"{name}.tif: {says}"):
            read_thermal(path)
    # The fuzz review's file with an unreadable ImageWidth tag, decoded as 120 x 0 by tifffile
    import thermocad.io.thermal as T

    monkeypatch.setattr(T, "read_tiff", lambda path, size: np.zeros((120, 0), np.uint16))
    with pytest.raises(ThermalFormatError, match=r"tall.tif: an image of no pixels \(shape"):
        read_thermal(tmp_path / "tall.tif")


def test_bad_images(tmp_path):
    colour = np.random.default_rng(0).integers(0, 256, (16, 20, 3), dtype=np.uint8)
    with pytest.raises(ThermalFormatError, match="pseudo-colour"):
        read_thermal(save_image(tmp_path, colour, "c.png"))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10)
    with pytest.raises(ThermalFormatError, match="unreadable png image"):
        read_thermal(tmp_path / "broken.png")
    with pytest.raises(ThermalFormatError, match="unreadable jpeg"):
        read_thermal(write(tmp_path, b"not a jpeg", "x.jpg"))
    # A FLIR camera's radiometric JPEG: its palette picture, the temperatures in an APP1
    # segment "FLIR\0" (here an empty one, as ExifTool's sample holds): said what to do.
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.repeat(colour, 8, axis=0)).save(buffer, "JPEG", quality=95)
    segment = b"FLIR\x00\x01\x01\x00" + bytes(16)
    app1 = b"\xff\xe1" + (len(segment) + 2).to_bytes(2, "big") + segment
    exif = b"Exif\x00\x00" + bytes(30_000)  # a camera's EXIF first, as FLIR files have it
    app1 = b"\xff\xe1" + (len(exif) + 2).to_bytes(2, "big") + exif + app1
    data = buffer.getvalue()
    flir = write(tmp_path, data[:2] + app1 + data[2:], "IR_0042.jpg")
    with pytest.raises(ThermalFormatError, match=r"IR_0042.jpg: a FLIR radiometric JPEG: .*flyr"):
        read_thermal(flir)
    with pytest.raises(ThermalFormatError, match="jpg: pseudo-colour image"):  # no FLIR segment
        read_thermal(write(tmp_path, data, "plain.jpg"))
    png = save_image(tmp_path, colour, "flir.png")  # "FLIR\0" in a PNG: no FLIR JPEG
    png.write_bytes(png.read_bytes() + segment)
    with pytest.raises(ThermalFormatError, match="png: pseudo-colour image"):
        read_thermal(png)


def test_npy(tmp_path):
    temps = matrix(5, 7)
    np.save(tmp_path / "t.npy", temps)
    th = read_thermal(tmp_path / "t.npy")
    assert (th.unit, th.source_format, th.shape) == ("celsius", "npy", (5, 7))
    np.save(tmp_path / "hot.npy", temps + 100)
    with pytest.raises(ThermalFormatError, match="outside the plausible range.*temperature file"):
        read_thermal(tmp_path / "hot.npy")
    np.save(tmp_path / "kelvin.npy", temps + 273.15)
    with pytest.raises(
        ThermalFormatError, match="it looks like kelvin, or tenths of a degree: convert to C"
    ):
        read_thermal(tmp_path / "kelvin.npy")
    np.save(tmp_path / "fahrenheit.npy", temps * 1.8 + 32)  # 20-36 C is 68-97 F
    with pytest.raises(ThermalFormatError, match="it looks like Fahrenheit: convert to C"):
        read_thermal(tmp_path / "fahrenheit.npy")
    # A few hot pixels in a frame of temperatures: a camera's dead pixels, said so.
    frame = np.full((48, 64), 31.0, np.float32)
    frame[3, 5] = frame[40, 60] = 60.0
    np.save(tmp_path / "dead.npy", frame)
    with pytest.raises(ThermalFormatError, match=r"\(2 of its 3,072 values, the rest "
                       "temperatures: dead or hot pixels, a dead sensor column"):  # fmt: skip
        read_thermal(tmp_path / "dead.npy")
    frame[:, :2] = 80.0  # two dead columns (96 values) beside the 2 pixels: said as such too
    np.save(tmp_path / "column.npy", frame)
    with pytest.raises(ThermalFormatError, match=r"\(98 of its 3,072 values, the rest temp"):
        read_thermal(tmp_path / "column.npy")
    for name in ("empty.npy", "empty.png"):  # an interrupted save: said as such
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(ThermalFormatError, match=rf"{name}: the file is empty \(0 bytes\)"):
            read_thermal(tmp_path / name)
    (tmp_path / "text.npy").write_text("hello, this is text\n")
    with pytest.raises(ThermalFormatError, match="text.npy: not a NumPy .npy file"):
        read_thermal(tmp_path / "text.npy")
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 4)) + 30)
    with pytest.raises(ThermalFormatError, match="2-D"):
        read_thermal(tmp_path / "cube.npy")
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ThermalFormatError, match="npy"):
        read_thermal(tmp_path / "obj.npy")


def test_npy_layouts_and_truncation(tmp_path):
    temps = matrix(5, 7)
    for name, array in {"f.npy": np.asfortranarray(temps), "be.npy": temps.astype(">f8"),
                        "i.npy": np.rint(temps).astype(np.int16)}.items():  # fmt: skip
        np.save(tmp_path / name, array)
        assert np.array_equal(read_thermal(tmp_path / name).array, array.astype(np.float32))
    data = (tmp_path / "f.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[:-8])
    with pytest.raises(ThermalFormatError, match="cut.npy: truncated .npy"):
        read_thermal(tmp_path / "cut.npy")
    # A header cut inside its dictionary: numpy's tokenizer raises TokenError, no ValueError
    # (it had been "unexpected error while reading"; a coverage review)
    (tmp_path / "head.npy").write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4'  \n" + bytes(9))
    with pytest.raises(ThermalFormatError, match=r"head.npy: not a readable .npy array \("):
        read_thermal(tmp_path / "head.npy")
    # An edited header (a fuzz review): a bool or negative dimension, or a shape that holds
    # fewer values than the file (half the frame read as a smaller one), is refused.
    whole = np.full((6, 8), 30.0, np.float32)
    np.save(tmp_path / "whole.npy", whole)
    data = (tmp_path / "whole.npy").read_bytes()
    (tmp_path / "byte.npy").write_bytes(data + b"\x00")  # one byte more than its shape
    with pytest.raises(ThermalFormatError, match=r"byte.npy: damaged .npy \(1 bytes more"):
        read_thermal(tmp_path / "byte.npy")
    for name, shape, why in [("bool.npy", b"(True, 8)", "expected a 2-D array, got shape"),
                             ("neg.npy", b"(-1, 8)", "expected a 2-D array, got shape"),
                             ("half.npy", b"(3, 8)", r"damaged .npy \(96 bytes more")]:  # fmt: skip
        edited = data.replace(b"(6, 8)", shape)  # the header's padding keeps its length
        cut = len(shape) - len(b"(6, 8)")
        (tmp_path / name).write_bytes(edited.replace(b" " * cut + b"\n", b"\n", 1))
        with pytest.raises(ThermalFormatError, match=f"{name}: {why}"):
            read_thermal(tmp_path / name)


def test_npy_headers_are_parsed_one_thread_at_a_time(tmp_path, monkeypatch):
    # numpy parses .npy headers with ast.literal_eval, which CPython 3.11.7 can fail when
    # threads build ASTs at once (SystemError, python/cpython#106905, seen in this suite):
    # the reader's threads must never be inside the header parser together.
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    real, inside, overlaps = np.lib.format.read_array_header_1_0, [0], []
    guard = threading.Lock()

    def slow_header(fh, *args, **kwargs):
        with guard:
            inside[0] += 1
            overlaps.append(inside[0])
        time.sleep(0.005)  # long enough for another thread to enter, if it may
        try:
            return real(fh, *args, **kwargs)
        finally:
            with guard:
                inside[0] -= 1

    monkeypatch.setattr(np.lib.format, "read_array_header_1_0", slow_header)
    paths = []
    for i in range(8):
        np.save(tmp_path / f"t{i}.npy", matrix(4, 6) + i / 10)
        paths.append(tmp_path / f"t{i}.npy")
    with ThreadPoolExecutor(8) as pool:
        shapes = list(pool.map(lambda p: read_thermal(p).shape, paths * 3))
    assert shapes == [(4, 6)] * 24 and max(overlaps) == 1


def test_unknown_extension_is_sniffed(tmp_path):
    grey8 = np.full((4, 5), 7, dtype=np.uint8)
    save_image(tmp_path, grey8, "img.png").rename(tmp_path / "img.bin")
    assert read_thermal(tmp_path / "img.bin").unit == "intensity"
    write(tmp_path, "30.1 30.2\n", "plain.thermal")
    assert read_thermal(tmp_path / "plain.thermal").shape == (1, 2)


def test_cache_hit_invalidation_and_damage(tmp_path, monkeypatch):
    import thermocad.io.thermal as thermal

    # This test's own cache folder: the session's shared one holds other tests' entries.
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path / "cache"))
    parsed = []
    real_parse = thermal.parse_text
    monkeypatch.setattr(thermal, "parse_text", lambda *a: parsed.append(1) or real_parse(*a))
    path = write(tmp_path, to_text(matrix()))
    first = read_thermal(path)
    (entry,) = cache_dir().glob("*.npy")
    assert entry.parent == tmp_path / "cache" / "arrays" and len(parsed) == 1
    os.utime(entry, ns=(0, 0))
    second = read_thermal(path)  # a hit: not parsed again, and the entry marked as used
    assert len(parsed) == 1 and entry.stat().st_mtime_ns > 0
    np.testing.assert_array_equal(first.array, second.array)
    assert second.source_format == "dmr-space"
    path.write_text(to_text(matrix(seed=1)))  # new content and mtime: the old entry is stale
    os.utime(path, ns=(os.stat(path).st_atime_ns, os.stat(path).st_mtime_ns + 10**9))
    np.testing.assert_array_equal(read_thermal(path).array, reference(to_text(matrix(seed=1))))
    assert len(parsed) == 2
    (newer,) = set(cache_dir().glob("*.npy")) - {entry}
    newer.write_bytes(b"damaged")  # this test's own entry, in its own folder
    np.testing.assert_array_equal(read_thermal(path).array, reference(to_text(matrix(seed=1))))
    assert len(parsed) == 3 and newer.read_bytes() != b"damaged"  # parsed again, entry rewritten


def test_cache_disabled_and_unwritable(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path / "cache"))
    path = write(tmp_path, to_text(matrix()))
    read_thermal(path, cache=False)
    assert not (tmp_path / "cache").exists()
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path / "file"))  # cannot be a folder
    assert read_thermal(path).shape == (6, 8)


@pytest.mark.parametrize("workers", [1, 2])
def test_read_many_goes_on_past_bad_files(tmp_path, workers):
    good = write(tmp_path, to_text(matrix()), "a.txt")
    bad = write(tmp_path, "30.1 oops\n", "b.txt")
    results = read_many([good, bad, tmp_path / "gone.txt", good], workers=workers)
    assert [type(r).__name__ for r in results] == [
        "Thermogram", "ThermalFormatError", "ThermalFormatError", "Thermogram"
    ]  # fmt: skip
    assert "oops" in str(results[1]) and str(bad) in str(results[1])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=400))
def test_random_bytes_never_crash(tmp_path, data):
    path = write(tmp_path, data, "fuzz.txt")
    try:
        th = read_thermal(path, cache=False)
    except ThermalFormatError:
        return
    assert th.array.ndim == 2 and np.isfinite(th.array).all()


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.integers(1, 6),
    cols=st.integers(1, 6),
    seed=st.integers(0, 10**6),
    variant=st.sampled_from(sorted(VARIANTS)),
    decimals=st.integers(0, 6),
)
def test_generated_matrices_match_loadtxt(tmp_path, rows, cols, seed, variant, decimals):
    options = dict(VARIANTS[variant])
    if options.get("fmt", "").startswith("%.") and options["fmt"].endswith("f"):
        options["fmt"] = f"%.{decimals}f"
    text = to_text(matrix(rows, cols, seed, decimals=6), **options)
    np.testing.assert_array_equal(
        read_thermal(write(tmp_path, text), cache=False).array, reference(text)
    )


def real_files(dmr_dir):
    files = sorted(dmr_dir.glob("T*.txt"))
    return [files[0], files[-1]]  # batch A (space, 2 decimals) and batch B (';', 5 decimals)


@pytest.mark.real
def test_real_files_match_loadtxt(dmr_dir):
    formats = set()
    for path in real_files(dmr_dir):
        th = read_thermal(path, cache=False)
        expected = np.loadtxt(io.StringIO(path.read_text().replace(";", " "))).astype(np.float32)
        assert th.shape == (480, 640)
        np.testing.assert_array_equal(th.array, expected)
        formats.add(th.source_format)
    assert formats == {"dmr-space", "dmr-semicolon"}


@pytest.mark.real
@settings(max_examples=60, deadline=None)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 10**9), st.integers(0, 255), st.sampled_from("sdi")),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_real_files_never_crash(dmr_dir, tmp_path_factory, edits):
    data = bytearray()
    for path in real_files(dmr_dir):
        data = bytearray(path.read_bytes()[:20000])  # a few lines keep the test fast
        for position, byte, kind in edits:
            at = position % len(data)
            if kind == "s":
                data[at] = byte
            elif kind == "d":
                del data[at]
            else:
                data.insert(at, byte)
        out = tmp_path_factory.mktemp("mut") / "T9999.txt"
        out.write_bytes(bytes(data))
        with contextlib.suppress(ThermalFormatError):
            read_thermal(out, cache=False)


@pytest.mark.parametrize("text", ["1 2 3\n4 x 6\n", "10 20\n3a 40\n"])
def test_bad_token_in_fixed_width_integers_names_the_line(tmp_path, text):
    # Regression: the fixed-layout fast path returned no values instead of falling back.
    f = tmp_path / "T0999.txt"
    f.write_text(text)
    with pytest.raises(ThermalFormatError, match="line 2"):
        read_thermal(f, cache=False)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    variant=st.sampled_from(["dmr-space", "dmr-semicolon"]),
    rows=st.integers(1, 5),
    edits=st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from("0123456789. ;\nx-+e")), max_size=3
    ),
)
def test_mutated_fixed_width_text_agrees_with_loadtxt(tmp_path, variant, rows, edits):
    """Whatever a few edited bytes do, thermocad and loadtxt accept the same plausible files."""
    text = list(to_text(matrix(rows, 4), **VARIANTS[variant]))
    for position, char in edits:
        text[position % len(text)] = char
    text = "".join(text)
    try:
        # thermocad's reading: ';' separates, and '\r' ends a line unless an '\n' follows it.
        clean = re.sub("\r(?!\r*\n)", "\n", text).replace(";", " ").replace("\r", " ")
        expected = np.loadtxt(io.StringIO(clean), ndmin=2).astype(np.float32)
        plausible = expected.size > 0 and bool(((expected >= 0) & (expected <= 50)).all())
    except ValueError:
        expected, plausible = None, False
    try:
        got = read_thermal(write(tmp_path, text), cache=False).array
    except ThermalFormatError:
        assert not plausible, text
        return
    assert expected is not None, text
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("decimals", [2, 5])
def test_float32_division_equals_loadtxt_rounding(decimals):
    """The fixed-width path divides in float32 (numbers below 2**24): exhaustively exact."""
    t = np.arange(2**24, dtype=np.uint32)
    double = (t / 10.0**decimals).astype(np.float32)  # loadtxt: float64, then float32
    single = t.astype(np.float32) / np.float32(10**decimals)
    assert np.array_equal(double, single)


@pytest.mark.parametrize("width", range(1, 17))
def test_every_fixed_width_layout_reads_exactly(width):
    """Each token width and decimal-mark position: the fixed-width reader equals loadtxt.

    Also with 1-3 rows and 1-5 columns, with and without a final line end: the reader's
    8-byte reads near the end of the data must stay inside it.
    """
    from thermocad.io.text import _lut, _parse_uniform

    rng = np.random.default_rng(width)
    for dot in range(width + 1):  # dot == width: integers
        if dot == width - 1 and width == 1:
            continue  # "." alone is no number
        shapes = [(3, 5, b"\r\n"), (1, 1, b"\r\n"), (1, 3, b"\n"), (2, 1, b""), (3, 2, b"\r")]
        for rows, cols, end in shapes:
            digits = rng.integers(0, 10, size=(rows, cols, width)).astype(np.uint8) + ord("0")
            if dot < width:
                digits[..., dot] = ord(".")
            lines = [b";".join(bytes(token) for token in row) for row in digits]
            data = b"\r\n".join(lines) + end
            parsed = _parse_uniform(data, _lut(False, ord("\n")))
            assert parsed is not None, (width, dot, rows, cols)
            text = data.decode().replace(";", " ")
            expected = np.loadtxt(io.StringIO(text), ndmin=2).astype(np.float32)
            np.testing.assert_array_equal(
                parsed[0], expected, err_msg=f"width {width}, dot {dot}, {rows} x {cols}"
            )


def test_fixed_width_reads_stay_inside_the_data(monkeypatch):
    """The compiled loop reads 8 bytes per token and numba does not check indices by default:
    the layout test again, with the loop compiled with bounds checks (an out-of-range read
    raises), in this process."""
    numba = pytest.importorskip("numba")
    import types

    from thermocad.io import fixed_width, kernel
    from thermocad.io.text import _lut

    # Both the loop and the token read it inlines are compiled anew with bounds checks.
    part = numba.njit(boundscheck=True, inline="always")(kernel._part.py_func)
    loop = kernel.read_lines.py_func
    checked = numba.njit(boundscheck=True)(
        types.FunctionType(loop.__code__, {**loop.__globals__, "_part": part}, loop.__name__)
    )
    monkeypatch.setattr(fixed_width, "_kernel", lambda: checked)
    # The checks are on: a token whose 8 bytes are not all there is an IndexError, not a read
    # past the end of the data.
    raw = np.frombuffer(b"12.5 13.5\n", dtype=np.uint8)
    layout = fixed_width._fixed_width(raw, _lut(False, ord("\n")))
    with pytest.raises(IndexError):
        layout.read(raw, 1, np.empty((1, 2), np.float32))
    for width in range(1, 17):
        test_every_fixed_width_layout_reads_exactly(width)


def test_a_png_that_claims_a_huge_size_is_refused_in_thermocads_words(tmp_path):
    import struct
    import zlib

    from PIL import Image

    path = tmp_path / "T0001.png"
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", 100_000, 100_000)  # IHDR width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    with pytest.raises(
        ThermalFormatError, match=r"T0001\.png: the image is too large for a thermogram"
    ):
        read_thermal(path)
    # Past Pillow's warning size (89 million pixels) but under its refusal: our words alone,
    # not its DecompressionBombWarning (with its site-packages path) on stderr before them.
    data[16:24] = struct.pack(">II", 10_000, 10_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    # (in a process of its own: pytest's warning filters come before the reader's). The command
    # line says it alone; a library caller's own process keeps Pillow's warning (an embedding
    # review: importing thermocad had silenced it for the host's own images too).
    render = [
        "-m",
        "thermocad",
        "render",
        str(tmp_path),
        "--out",
        str(tmp_path.parent / f"{tmp_path.name}_png"),
    ]
    done = subprocess.run([sys.executable, *render], capture_output=True, text=True, timeout=120)
    assert "T0001.png: 10,000 x 10,000 is too large" in done.stderr
    assert "DecompressionBombWarning" not in done.stderr
    code = ("from thermocad.io.thermal import read_thermal\ntry:\n    read_thermal("
            f"{str(path)!r})\nexcept Exception as exc:\n    print(exc)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    assert "T0001.png: 10,000 x 10,000 is too large" in done.stdout
    assert "DecompressionBombWarning" in done.stderr


def test_grey_depths_other_than_8_and_16_bit_are_refused(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "wide.tif", np.full((16, 20), 70000, np.uint32))
    with pytest.raises(ThermalFormatError, match=r"wide\.tif: a grey image of uint32 values"):
        read_thermal(tmp_path / "wide.tif")
    tifffile.imwrite(tmp_path / "signed.tif", np.full((16, 20), -5, np.int16))
    with pytest.raises(ThermalFormatError, match="int16 values"):
        read_thermal(tmp_path / "signed.tif")
    tifffile.imwrite(tmp_path / "i32.tif", np.full((16, 20), 200, np.int32))  # 32-bit, dark
    with pytest.raises(ThermalFormatError, match="int32 values"):  # not taken for 16-bit
        read_thermal(tmp_path / "i32.tif")
    tifffile.imwrite(tmp_path / "i8.tif", np.full((16, 20), -50, np.int8))
    with pytest.raises(ThermalFormatError, match="int8 values"):
        read_thermal(tmp_path / "i8.tif")


def test_a_model_given_as_a_thermogram_is_named_a_model(tmp_path):
    """predict m1.onnx m2.onnx: the second was 'more than 4,096 lines of numbers'."""
    for name in ("m.onnx", "model.safetensors"):
        (tmp_path / name).write_bytes(b"\x08\x07\x12\x07pytorch" + bytes(range(256)) * 64)
        with pytest.raises(ThermalFormatError, match=f"{name}: a model file, not a thermogram"):
            read_thermal(tmp_path / name)


def test_an_images_orientation_tag_is_applied_and_a_1_bit_image_refused(tmp_path):
    """Read as a viewer shows it: an Orientation tag of 3 (turned 180 degrees) put the bright
    band at the top where the viewer shows it at the bottom."""
    from PIL import Image

    grey = np.zeros((40, 30), np.uint8)
    grey[:5] = 255  # bright band at the top of the stored pixels
    img = Image.fromarray(grey)
    exif = img.getexif()
    exif[0x0112] = 3  # Orientation: rotate 180
    img.save(tmp_path / "turned.png", exif=exif)
    array = read_thermal(tmp_path / "turned.png").array
    assert array[-5:].mean() == 255 and array[:5].mean() == 0
    Image.fromarray(grey > 0).convert("1").save(tmp_path / "mask.png")
    with pytest.raises(ThermalFormatError, match=r"mask\.png: a 1-bit .* not a thermogram"):
        read_thermal(tmp_path / "mask.png")
    # A TIFF's tag is undone as Pillow undoes a PNG's, for each of the 8 orientations.
    import tifffile

    asymmetric = np.arange(12 * 20, dtype=np.uint16).reshape(12, 20) * 200
    for orientation in range(1, 9):
        img = Image.fromarray(asymmetric)
        exif = img.getexif()
        exif[0x0112] = orientation
        img.save(tmp_path / f"o{orientation}.png", exif=exif)
        tifffile.imwrite(tmp_path / f"o{orientation}.tif", asymmetric,
                         extratags=[(274, "H", 1, orientation, False)])  # fmt: skip
        png = read_thermal(tmp_path / f"o{orientation}.png").array
        np.testing.assert_array_equal(read_thermal(tmp_path / f"o{orientation}.tif").array, png)
    tifffile.imwrite(tmp_path / "mask.tif", grey > 0)
    with pytest.raises(ThermalFormatError, match=r"mask\.tif: a 1-bit"):
        read_thermal(tmp_path / "mask.tif")


def test_several_frames_in_one_file_are_refused(tmp_path):
    """A sequence export (frames one after another, a blank line between) had read as one
    image twice as tall and been scored (a review of camera exports: P 0.765 against 0.267)."""
    frame = "\n".join(" ".join(f"{v:.2f}" for v in row) for row in matrix(40, 48)) + "\n"
    with pytest.raises(ThermalFormatError, match=r"two.txt: 2 blocks of rows \(40, 40\) "
                       r"separated by blank lines, the second from line 42 on: several frames"):  # fmt: skip
        read_thermal(write(tmp_path, frame + "\n" + frame, "two.txt"), cache=False)
    csv = frame.replace(" ", ",")
    with pytest.raises(ThermalFormatError, match="3 blocks of rows"):
        read_thermal(write(tmp_path, csv + "\n" + csv + "\n\n" + csv, "three.csv"), cache=False)
    # Blank lines after the last row, or one astray in a frame, are no frames.
    assert read_thermal(write(tmp_path, frame + "\n\n", "one.txt"), cache=False).shape == (40, 48)
    rows = frame.splitlines()
    stray = "\n".join(rows[:35]) + "\n\n" + "\n".join(rows[35:]) + "\n" + frame
    assert read_thermal(write(tmp_path, stray, "stray.txt"), cache=False).shape == (80, 48)


@pytest.mark.parametrize("separator", [";", "\t", ","])
def test_a_column_left_empty_in_every_row_is_refused(tmp_path, separator):
    """Every row alike, as the reader's fast path takes them (a diff review: ';;' on every row,
    DMR-IR's own separator, and a uniform '\t\t' were read one column short)."""
    rows = [separator.join("" if j == 3 else f"{v:.2f}" for j, v in enumerate(row))
            for row in matrix(40, 48)]  # fmt: skip
    with pytest.raises(ThermalFormatError, match=r"line 1: an empty field \(two "):
        read_thermal(write(tmp_path, "\n".join(rows) + "\n", "gap.txt"), cache=False)
    batch_b = "\n".join(";".join(f"{v:.2f}" for v in row) + ";" for row in matrix(40, 48))
    assert read_thermal(write(tmp_path, batch_b, "b.txt"), cache=False).shape == (40, 48)


def test_a_camera_softwares_header_or_label_column_is_named(tmp_path):
    """A review of camera exports: a header block had been taken for a labels table (or said
    only 'not a number'), a label column likewise, and Optris's size line went unexplained."""
    rows = [",".join(f"{v:.2f}" for v in row) for row in matrix(40, 48)]
    flir = "File Name,C:\\\\Rec-0001.ats\n\nParameters:\nEmissivity,0.98\n" + "\n".join(rows)
    with pytest.raises(ThermalFormatError, match=r"line 1: 'File' is not a number\. Lines 1-4 "
                       r"look like a camera software's header: delete them and keep only the "
                       "matrix of temperatures"):  # fmt: skip
        read_thermal(write(tmp_path, flir, "flir.csv"), cache=False)
    labelled = "\n".join(f"Frame 1,{row}" for row in rows)
    with pytest.raises(ThermalFormatError, match=r"The first column looks like a camera "
                       "software's label: delete it and keep only the matrix"):  # fmt: skip
        read_thermal(write(tmp_path, labelled, "frames.csv"), cache=False)
    irbis = "[Settings]\nImageWidth=48\n[Data]\n" + "\n".join(r.replace(",", "\t") for r in rows)
    with pytest.raises(ThermalFormatError, match=r"'\[Settings\]' is not a number\. Lines 1-3 "):
        read_thermal(write(tmp_path, irbis, "irbis.asc"), cache=False)
    optris = "48,40\n" + "\n".join(rows)
    with pytest.raises(ThermalFormatError, match=r"line 1 gives the frame's size: keep only the "):
        read_thermal(write(tmp_path, optris, "optris.csv"), cache=False)
    # A bad value inside a row of numbers is no header and no label column.
    cells = rows[0].split(",")
    bad = "\n".join([",".join([*cells[:10], "1.#QNAN", *cells[11:]]), *rows[1:]])
    with pytest.raises(ThermalFormatError, match=r"line 1: '.*QNAN.*' is not a number$"):
        read_thermal(write(tmp_path, bad, "qnan.csv"), cache=False)
    # A labels table keeps its own hint.
    with pytest.raises(ThermalFormatError, match=r"a table's header\? \(a labels CSV, say\)"):
        read_thermal(write(tmp_path, "patient_id,diagnosis\n1,Sick\n", "l.csv"), cache=False)
