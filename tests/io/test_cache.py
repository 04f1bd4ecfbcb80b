"""The parse cache never returns a wrong array: checked entries, content keys, a size cap."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from thermocad.io import cache
from thermocad.io.thermal import read_thermal


def dmr_text(seed: int, rows: int = 48, cols: int = 64) -> bytes:
    values = np.random.default_rng(seed).uniform(25, 35, (rows, cols))
    return "".join(" ".join(f"{v:.2f}" for v in row) + "\n" for row in values).encode()


def expected(data: bytes) -> np.ndarray:
    return np.loadtxt(data.decode().splitlines(), ndmin=2).astype(np.float32)


@pytest.fixture
def cached_file(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "T0001.txt"
    path.write_bytes(dmr_text(0))
    read_thermal(path)
    (entry,) = cache.cache_dir().glob("*.npy")
    return path, entry


def test_a_hit_returns_the_parsed_array(cached_file):
    path, entry = cached_file
    os.utime(entry, ns=(0, 0))
    np.testing.assert_array_equal(read_thermal(path).array, expected(dmr_text(0)))
    assert entry.stat().st_mtime_ns > 0  # a hit marks the entry as recently used


@pytest.mark.parametrize("offset", [200, 2000, -300])
def test_corrupted_entries_are_detected(cached_file, offset):
    path, entry = cached_file
    data = bytearray(entry.read_bytes())
    data[offset if offset > 0 else len(data) + offset - 80] ^= 0x40  # a flipped bit in a value
    entry.write_bytes(bytes(data))
    np.testing.assert_array_equal(read_thermal(path).array, expected(dmr_text(0)))


def test_planted_entries_with_another_shape_or_dtype_are_never_returned(cached_file):
    path, entry = cached_file
    for planted in (np.full((2, 48, 64), 30.0), np.full((48, 64), 30.0), np.full((48, 64), 999)):
        np.save(entry, planted)  # a plain .npy: no trailer, or the wrong dtype or values
        np.testing.assert_array_equal(read_thermal(path).array, expected(dmr_text(0)))


def test_another_files_entry_copied_over_this_ones_is_not_served(cached_file):
    """A reviewer copied T9001's entry over T9002's: predict scored T9002 as T9001, silently.
    An entry names its own key, so a copy under another name is a miss."""
    path, entry = cached_file
    other = path.with_name("T0002.txt")
    other.write_bytes(dmr_text(1))
    read_thermal(other)
    (copied,) = [e for e in cache.cache_dir().glob("*.npy") if e != entry]
    shutil.copyfile(copied, entry)  # T0002's parse under T0001's key
    np.testing.assert_array_equal(read_thermal(path).array, expected(dmr_text(0)))


def test_a_replaced_file_with_the_same_path_size_and_mtime_is_not_served_stale(cached_file):
    path, _ = cached_file
    other = path.with_name("other.txt")
    other.write_bytes(dmr_text(1))  # same size: every value has 2 decimals and 2 digits
    assert other.stat().st_size == path.stat().st_size
    mtime = path.stat().st_mtime_ns
    shutil.copyfile(other, path)
    os.utime(path, ns=(mtime, mtime))  # as `cp -p`, rsync -t or tar would leave it
    np.testing.assert_array_equal(read_thermal(path).array, expected(dmr_text(1)))


def test_the_cache_is_capped_and_evicts_least_recently_used(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("THERMOCAD_CACHE_MAX_MB", "0.1")  # 100 KiB; an entry is 12 KiB
    for i in range(40):
        path = tmp_path / f"T{i:04d}.txt"
        path.write_bytes(dmr_text(i))
        read_thermal(path)
    sizes = [entry.stat().st_size for entry in cache.cache_dir().glob("*.npy")]
    assert 0 < sum(sizes) <= 0.1 * 2**20 * 1.2  # at most an eighth of the cap written since
    assert len(sizes) < 40
    newest = cache.cache_key(tmp_path / "T0039.txt", (tmp_path / "T0039.txt").stat())
    oldest = cache.cache_key(tmp_path / "T0000.txt", (tmp_path / "T0000.txt").stat())
    assert (cache.cache_dir() / f"{newest}.npy").is_file()  # the newest entry survived
    assert not (cache.cache_dir() / f"{oldest}.npy").exists()  # the oldest was evicted


def test_a_zero_cap_keeps_nothing_and_a_bad_cap_falls_back(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("THERMOCAD_CACHE_MAX_MB", "0")
    path = tmp_path / "T0001.txt"
    path.write_bytes(dmr_text(0))
    read_thermal(path)
    assert not list(cache.cache_dir().glob("*.npy"))
    for bad in ("lots", "nan", "-5"):
        monkeypatch.setenv("THERMOCAD_CACHE_MAX_MB", bad)
        with pytest.warns(UserWarning, match="THERMOCAD_CACHE_MAX_MB"):
            assert cache.max_bytes() == cache.DEFAULT_MAX_MB * 2**20


@pytest.mark.parametrize("value", ["inf", "Infinity", "1e30"])
def test_an_infinite_or_huge_cap_means_no_cap_and_reads_work(tmp_path, monkeypatch, value):
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("THERMOCAD_CACHE_MAX_MB", value)
    assert cache.max_bytes() == cache.NO_CAP
    path = tmp_path / "T0001.txt"
    path.write_bytes(dmr_text(0))
    np.testing.assert_array_equal(read_thermal(path).array, expected(dmr_text(0)))
    assert len(list(cache.cache_dir().glob("*.npy"))) == 1  # stored, and nothing pruned


def test_no_error_in_the_cache_store_fails_a_read(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path / "cache"))

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in the cache")

    monkeypatch.setattr(cache, "checksum", broken)
    path = tmp_path / "T0001.txt"
    path.write_bytes(dmr_text(0))
    np.testing.assert_array_equal(read_thermal(path).array, expected(dmr_text(0)))


def test_an_entry_pruned_by_another_process_while_stored_does_not_fail_the_read(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path / "cache"))
    real_replace, real_exists = os.replace, Path.exists

    def replace_then_pruned(src, dst):  # another process's prune() right after the rename
        real_replace(src, dst)
        os.unlink(dst)

    def exists_then_pruned(self, *args, **kwargs):  # ... or between exists() and stat()
        found = real_exists(self, *args, **kwargs)
        if found and self.parent == cache.cache_dir() and self.suffix == ".npy":
            os.unlink(self)
        return found

    monkeypatch.setattr(Path, "exists", exists_then_pruned)
    for i, patch_replace in enumerate((False, True)):
        if patch_replace:
            monkeypatch.setattr(cache.os, "replace", replace_then_pruned)
        path = tmp_path / f"T000{i}.txt"
        path.write_bytes(dmr_text(i))
        np.testing.assert_array_equal(read_thermal(path).array, expected(dmr_text(i)))


def test_checksum_sees_every_value():
    array = np.random.default_rng(0).uniform(25, 35, (5, 7)).astype(np.float32)  # odd size
    base = cache.checksum(array)
    for index in [(0, 0), (4, 6), (2, 3)]:
        changed = array.copy()
        changed[index] = np.nextafter(changed[index], np.float32(99))
        assert cache.checksum(changed) != base


@pytest.mark.parametrize("a, b", [(0, 2), (1, 9), (0, 1), (3, 34)])
def test_checksum_sees_two_values_swapped(a, b):
    """Two values in the same half of two 64-bit words (0 and 2; 1 and 9: a plain sum and xor
    of the words miss these), within one word (0 and 1), and with the odd last value (34)."""
    array = np.random.default_rng(1).uniform(25, 35, (5, 7)).astype(np.float32)
    flat = array.reshape(-1).copy()
    flat[a], flat[b] = flat[b], flat[a]
    assert cache.checksum(flat.reshape(5, 7)) != cache.checksum(array)


def test_checksum_sees_two_words_swapped():
    array = np.random.default_rng(2).uniform(25, 35, (4, 8)).astype(np.float32)
    flat = array.reshape(-1).copy()
    flat[[0, 1, 6, 7]] = flat[[6, 7, 0, 1]]
    assert cache.checksum(flat.reshape(4, 8)) != cache.checksum(array)


@pytest.mark.parametrize("module", cache.PARSER_MODULES)
def test_the_key_changes_when_any_parser_module_changes(tmp_path, monkeypatch, module):
    """A parser change without a hand-bumped version once served stale arrays (79f666f)."""
    source = tmp_path / "src"
    source.mkdir()
    for name in cache.PARSER_MODULES:
        shutil.copyfile(Path(cache.__file__).with_name(f"{name}.py"), source / f"{name}.py")
    monkeypatch.setattr(cache, "_SOURCE", source)
    path = tmp_path / "T0001.txt"
    path.write_bytes(dmr_text(0))
    cache.parser_digest.cache_clear()
    before = cache.cache_key(path, path.stat())
    with open(source / f"{module}.py", "a") as fh:
        fh.write("\n# a change of the parser\n")
    assert cache.cache_key(path, path.stat()) == before  # computed once per process
    cache.parser_digest.cache_clear()
    assert cache.cache_key(path, path.stat()) != before
    (source / f"{module}.py").unlink()  # no source to tell parsers apart: nothing cached
    cache.parser_digest.cache_clear()
    assert cache.cache_key(path, path.stat()) is None
    monkeypatch.undo()
    cache.parser_digest.cache_clear()


def test_every_module_the_text_reader_uses_is_in_the_parser_digest():
    """A module split off the reader (or a new one it imports) must move the key too."""
    from tests.test_architecture import import_graph

    graph, todo, seen = import_graph(), ["thermocad.io.text", "thermocad.io.thermal"], set()
    while todo:
        for name in graph[todo.pop()] - seen:
            seen.add(name)
            todo.append(name)
    text_path = {n for n in seen if n.startswith("thermocad.io.")} - {
        "thermocad.io.find", "thermocad.io.grey", "thermocad.io.npy", "thermocad.io.pool",
        "thermocad.io.tiff"}  # fmt: skip
    listed = {f"thermocad.io.{name}" for name in cache.PARSER_MODULES}
    missing = sorted(n.removeprefix("thermocad.io.") for n in text_path - listed)
    assert not missing, f"add {missing} to PARSER_MODULES in io/cache.py (the parse cache's key)"


def test_an_entry_of_another_parser_is_not_served(tmp_path, monkeypatch):
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "T0001.txt"
    path.write_bytes(dmr_text(0))
    monkeypatch.setattr(cache, "parser_digest", lambda: "old parser")
    key = cache.cache_key(path, path.stat())
    cache.store(key, np.zeros((1, 600), np.float32), "dmr-space")  # the old parser's reading
    assert read_thermal(path).shape == (1, 600)  # served to the parser that stored it
    monkeypatch.setattr(cache, "parser_digest", lambda: "new parser")
    np.testing.assert_array_equal(read_thermal(path).array, expected(dmr_text(0)))


def test_prune_removes_what_a_killed_writer_left_and_nothing_else(tmp_path, monkeypatch):
    import hashlib

    monkeypatch.setenv("THERMOCAD_CACHE_DIR", str(tmp_path))
    folder = cache.cache_dir()
    folder.mkdir(parents=True)
    key = hashlib.sha1(b"a file").hexdigest()
    old = folder / f".{key}.npy.4242.140000.tmp"  # its writer was killed an hour ago
    new = folder / f".{key}.npy.4343.140001.tmp"  # another process is writing it now
    mine = folder / ".notes.tmp"  # not a name thermocad writes
    for path in (old, new, mine):
        path.write_bytes(b"x" * 1000)
    hours_ago = time.time() - cache.STALE_TMP_SECONDS - 60
    for path in (old, mine):
        os.utime(path, (hours_ago, hours_ago))
    assert cache.prune(10**9) == 1
    assert not old.exists() and new.exists() and mine.exists()


def test_the_cache_folder_follows_home_and_xdg_and_never_the_working_folder(tmp_path, monkeypatch):
    """An environment review: THERMOCAD_CACHE_DIR='~/tc' made a folder named '~' in the
    working folder, a relative one a cache per working folder, and XDG_CACHE_HOME was not read."""
    import pytest

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", "~/tc")
    assert cache.cache_dir() == tmp_path / "home" / "tc" / "arrays"
    monkeypatch.delenv("THERMOCAD_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_dir() == tmp_path / "xdg" / "thermocad" / "arrays"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # not absolute: ignored, as XDG says
    assert cache.cache_dir() == tmp_path / "home" / ".cache" / "thermocad" / "arrays"
    monkeypatch.setenv("THERMOCAD_CACHE_DIR", "relcache")
    with pytest.warns(UserWarning, match="THERMOCAD_CACHE_DIR='relcache' is a relative path"):
        assert cache.cache_dir() == tmp_path / "home" / ".cache" / "thermocad" / "arrays"
