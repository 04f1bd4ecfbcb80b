"""Print what thermocad answers to each bad file, folder and table (docs/reliability.md).

    .venv/bin/python benchmarks/bad_inputs.py [--memory]

Builds each case in a temporary folder and prints `case | answer` (paths shortened to
their name). With --memory, also reads the largest inputs the limits allow, each in a
fresh process, and prints wall time and peak RSS above the interpreter's baseline.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from thermocad.io.labels import read_labels
from thermocad.io.thermal import read_thermal
from thermocad.utils.errors import ThermocadError

ROW = "30.12 30.45 31.02\n"


def file_cases(root: Path) -> dict[str, Path]:
    """Bad thermal files, one per catalogue line."""
    root.mkdir(exist_ok=True)
    texts = {
        "empty file": b"",
        "truncated (cut inside the last row)": (ROW * 3)[:-9].encode(),
        "ragged rows": (ROW + "30.1 30.2\n").encode(),
        "non-numeric token": (ROW + "30.1 abc 30.3\n").encode(),
        "NaN": (ROW + "30.1 nan 30.3\n").encode(),
        "implausible value (not degrees C)": (ROW + "30.1 72.5 30.3\n").encode(),
        "binary bytes without a NUL in the first 64": bytes(
            np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8)
        ),
        "10 million-line column (19.8 MB)": b"1\n" * 9_900_000,
        "one row of 5,000 values": b" ".join([b"30"] * 5000) + b"\n",
        "an empty field (`;;`)": b"30.1;30.2;30.3\n30.4;;30.6\n",
        "a stray '.' in a comma-decimal file": b"30,12 30,45\n30,51 30,62\n30,50 3.,61\n",
    }
    cases = {}
    for i, (case, data) in enumerate(texts.items()):
        cases[case] = root / f"T{i:04d}.txt"
        cases[case].write_bytes(data)
    cases["gzip bomb (0.5 MB of gzip, 512 MiB of zeros)"] = bomb = root / "bomb.txt.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as fh:
        for _ in range(512):
            fh.write(bytes(2**20))
    cases["text file over 64 MB (sparse)"] = big = root / "big.txt"
    with big.open("wb") as fh:
        fh.truncate(65 * 2**20)
    cases["pseudo-colour PNG"] = png = root / "colour.png"
    rgb = np.random.default_rng(0).integers(0, 256, (16, 20, 3), dtype=np.uint8)
    Image.fromarray(rgb).save(png)
    cases["PNG declaring 20 x 5,000 pixels"] = wide = root / "wide.png"
    Image.new("L", (5000, 20)).save(wide)
    cases["pickle in .npy (object array)"] = pickled = root / "pickle.npy"
    np.save(pickled, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases[".npy declaring 100,000 x 100,000"] = huge = root / "huge.npy"
    with open(huge, "wb") as fh:
        np.lib.format.write_array_header_1_0(
            fh, {"descr": "<f4", "fortran_order": False, "shape": (100_000, 100_000)}
        )
    cases[".npy header claiming 4 GB"] = header = root / "header.npy"
    header.write_bytes(b"\x93NUMPY\x02\x00" + (4 * 10**9).to_bytes(4, "little") + bytes(100))
    cases["3-D .npy"] = cube = root / "cube.npy"
    np.save(cube, np.full((2, 3, 4), 30.0))
    cases["empty .npy (an interrupted copy)"] = empty = root / "empty.npy"
    empty.write_bytes(b"")
    cases["binary bytes with a NUL in the first 64"] = nul = root / "nul.txt"
    nul.write_bytes(b"30.1 30.2\n\x00" + bytes(range(1, 256)))
    cases["text matrix saved as UTF-16 (Notepad's 'Unicode')"] = utf16 = root / "utf16.txt"
    utf16.write_bytes((ROW * 3).encode("utf-16"))
    cases["text renamed .npy"] = renamed = root / "text.npy"
    renamed.write_text(ROW * 3)
    cases["truncated .npy"] = cut = root / "cut.npy"
    np.save(cut, np.full((5, 7), 30.0, dtype=np.float32))
    cut.write_bytes(cut.read_bytes()[:-20])
    # A 64 x 80 frame: a 22 C room with a 33 C body in the middle, in the wrong unit.
    celsius = np.full((64, 80), 22.0)
    celsius[16:, 20:60] = 33.0
    cases["temperatures in kelvin (room 22 C, body 33 C)"] = kelvin = root / "kelvin.npy"
    np.save(kelvin, celsius + 273.15)
    cases["temperatures in Fahrenheit (room 22 C, body 33 C)"] = fahr = root / "fahrenheit.npy"
    np.save(fahr, celsius * 1.8 + 32)
    cases["FIFO (named pipe)"] = fifo = root / "fifo.txt"
    os.mkfifo(fifo)
    cases["device"] = Path("/dev/zero")
    cases["symlink loop"] = loop = root / "loop.txt"
    loop.symlink_to(loop)
    cases["missing file"] = root / "missing.txt"
    cases["folder given as a file"] = folder = root / "data"
    folder.mkdir(exist_ok=True)
    return cases


def label_cases(root: Path) -> dict[str, Path]:
    """Bad patient tables."""
    tables = {
        "labels: missing diagnosis column": "patient_id,age\n1,40\n",
        "labels: duplicate patient": "patient_id,diagnosis\n1,Healthy\nT0001,Sick\n",
        "labels: unknown diagnosis": "patient_id,diagnosis\n1,Healthy\n2,maybe\n",
        "labels: 30-digit patient id": "patient_id,diagnosis\n" + "9" * 30 + ",Sick\n",
        "labels: not a patient number": "patient_id,diagnosis\nabc,Sick\n",
        "labels: empty file": "",
    }
    out = {}
    for i, (case, text) in enumerate(tables.items()):
        out[case] = root / f"labels{i}.csv"
        out[case].write_text(text)
    out["labels: Latin-1 / Windows-1252 export"] = latin = root / "latin1.csv"
    latin.write_bytes(
        "patient_id,diagnosis,comment\n1,Healthy,ok\n2,Sick,biópsia\n".encode("latin-1")
    )
    out["labels: missing file"] = root / "nonexist.csv"
    out["labels: a folder"] = folder = root / "data"
    folder.mkdir(exist_ok=True)
    return out


def answer(fn, path: Path, root: Path) -> str:
    try:
        result = fn(path)
    except ThermocadError as exc:
        return f"{type(exc).__name__}: {exc}".replace(str(root) + "/", "")
    return f"accepted: {getattr(result, 'shape', None) or len(result)}"


UNREADABLE = """
import sys
from thermocad.inference.collect import collect_files
from thermocad.io.find import find_thermal_files
from thermocad.io.thermal import read_thermal
try:
    read_thermal(sys.argv[1] + "/private.txt", cache=False)
except Exception as exc:
    print("| unreadable file (mode 000) | " + type(exc).__name__ + ": " + str(exc) + " |")
find_thermal_files(sys.argv[1])  # prepare and render: a warning line on stderr
print("| unreadable subfolder, predict | " + str(collect_files([sys.argv[1]])[1]) + " |")
"""


def unreadable_answers(root: Path) -> str:
    """Mode-000 file and folder, read by root without its permission-override capabilities."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return "| unreadable file and folder | (needs root and setpriv to check) |"
    (root / "private.txt").write_text(ROW)
    (root / "private.txt").chmod(0)
    (root / "locked").mkdir()
    (root / "locked").chmod(0)
    drop = "-dac_override,-dac_read_search"
    result = subprocess.run(
        ["setpriv", "--bounding-set", drop, "--inh-caps", drop, sys.executable, "-c",
         UNREADABLE, str(root)], capture_output=True, text=True, check=False,
    )  # fmt: skip
    warning = "| unreadable subfolder, prepare and render | " + result.stderr.strip() + " |"
    return (result.stdout.strip() + "\n" + warning).replace(str(root) + "/", "")


MEASURE = """
import resource, sys, time
from thermocad.io.text import warm_up_text_reader
warm_up_text_reader()
from PIL import Image  # loaded before the baseline, like the reader's numba loop
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
from thermocad.io.thermal import read_thermal
start = time.perf_counter()
try:
    outcome = "read %s" % (read_thermal(sys.argv[1], cache=False).shape,)
except Exception as exc:
    outcome = type(exc).__name__
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{outcome} | {time.perf_counter() - start:.2f} | {(peak - base) / 1024:.0f}")
"""


def memory_cases(root: Path, data: Path | None) -> dict[str, Path]:
    """The largest inputs the limits let through to the parser, and a real file."""
    cases = {}
    real = sorted(data.glob("*.txt"))[:1] if data else []
    if real:
        cases[f"real DMR file ({real[0].stat().st_size / 2**20:.1f} MB)"] = real[0]
    rows = {
        "4,096,000 values of 16 bytes (62.5 MiB, accepted)": b"30.000000000001 " * 1023
        + b"30.000000000001\n",
        "60 MiB of '.' (one bad token)": None,
        "62.5 MiB of '1.1.1.1.1.1.1.1' tokens": b"1.1.1.1.1.1.1.1 " * 1023 + b"1.1.1.1.1.1.1.1\n",
    }
    for i, (case, row) in enumerate(rows.items()):
        cases[case] = path = root / f"mem{i}.txt"
        path.write_bytes(b"." * (60 * 2**20) + b"\n" if row is None else row * 4000)
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--memory", action="store_true", help="also measure peak memory")
    parser.add_argument("--data", type=Path, default=None, help="real DMR files (optional)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bad-inputs-") as folder:
        root = Path(folder)
        if args.memory:
            print("| input | outcome | seconds | peak RSS above baseline (MiB) |")
            print("|---|---|---|---|")
            cases = memory_cases(root, args.data)
            cases.update({k: v for k, v in file_cases(root / "files").items()
                          if "bomb" in k or "million" in k})  # fmt: skip
            for case, path in cases.items():
                result = subprocess.run([sys.executable, "-c", MEASURE, str(path)],
                                        capture_output=True, text=True, check=False)  # fmt: skip
                print(f"| {case} | {result.stdout.strip() or result.stderr[-200:]} |")
            return
        for case, path in file_cases(root).items():
            print(f"| {case} | {answer(lambda p: read_thermal(p, cache=False), path, root)} |")
        print(unreadable_answers(root))
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(root / "sock.txt"))
            print(f"| socket | {answer(read_thermal, root / 'sock.txt', root)} |")
        for case, path in label_cases(root).items():
            print(f"| {case} | {answer(read_labels, path, root)} |")


if __name__ == "__main__":
    main()
