"""Temperature normalisation, the shared EvalTransform, augmentation and its preview."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from thermocad.preprocess.augment import Augmentation, augment, augment_preview, augmented_input
from thermocad.preprocess.transforms import EvalTransform, Normalization
from thermocad.utils.errors import ConfigError

RAMP = np.linspace(20, 40, 64 * 80, dtype=np.float32).reshape(64, 80)


def test_normalisations():
    robust = Normalization("robust", percentiles=(0, 100))(RAMP)
    assert robust.min() == pytest.approx(0) and robust.max() == pytest.approx(1)
    eight_bit = Normalization("intensity")(np.array([[0, 51, 255]], np.float32))
    np.testing.assert_allclose(eight_bit, [[0, 0.2, 1]])
    with pytest.raises(ConfigError):
        Normalization("kelvin")
    # The fixed Celsius window was measured worse and removed; a model using it is named so.
    with pytest.raises(ConfigError, match="Celsius window .* was removed"):
        EvalTransform.from_dict({**EvalTransform(size=32).to_dict(),
                                 "normalization": {"method": "celsius", "low": 22, "high": 36}})  # fmt: skip


def test_relative_window_is_degrees_around_the_skin_level():
    relative = Normalization("relative", width=14)
    a = np.array([[25, 32, 33.4, 39, 45]], np.float32)
    np.testing.assert_allclose(relative(a, level=32), [[0, 0.5, 0.6, 1, 1]], atol=1e-6)
    np.testing.assert_allclose(relative(a), relative(a, level=33.4))  # default: the median
    np.testing.assert_allclose(relative(a + 3, level=35), relative(a, level=32), atol=1e-6)
    with pytest.raises(ConfigError, match="positive width"):
        Normalization("relative", width=0)
    # model.json from before the width gave the window as low..high: the same window.
    old = {"method": "relative", "low": 22, "high": 36, "percentiles": [0.5, 99.5]}
    assert Normalization.from_dict(old) == relative


def test_relative_transform_ignores_a_warmer_room_and_skin():
    """The same woman in a room (and on skin) 2.5 C warmer gives the same input: the level is
    measured on her body, and a degree keeps its size."""
    from thermocad.preprocess.regions import body_mask
    from thermocad.synth.cohort import synth_patient

    frames, _, _ = synth_patient(np.random.default_rng(3), sick=True, height=240, width=320)
    a = next(iter(frames.values()))
    t = EvalTransform(size=160, normalization=Normalization("relative"), crop="breasts")
    np.testing.assert_allclose(t.prepare(a + 2.5), t.prepare(a), atol=1e-4)
    square = a[:, 40:280]  # pixels map 1:1 at size 240
    mask = body_mask(square)
    full = EvalTransform(size=240, normalization=Normalization("relative")).prepare(square)
    level = np.median(square[mask])
    assert np.median(full[mask]) == pytest.approx(0.5, abs=0.01)
    np.testing.assert_allclose(full[mask], np.clip((square[mask] - level) / 14 + 0.5, 0, 1),
                               atol=0.01)  # fmt: skip


def test_eval_transform_shape_and_roundtrip():
    t = EvalTransform(
        size=32, mean=(0.5, 0.0), std=(0.5, 1.0), channels=("temperature", "asymmetry")
    )
    x = t(RAMP)
    assert x.shape == (2, 32, 32) and x.dtype == torch.float32
    same = EvalTransform.from_dict(t.to_dict())
    assert same == t
    torch.testing.assert_close(same(RAMP), x)
    # Every field away from its default survives the model file's round trip.
    other = EvalTransform(size=48, normalization=Normalization("relative", width=10.0),
                          mean=(0.1,), std=(0.2,), channels=("asymmetry",), crop="breasts",
                          marker="remove", background="symmetric")  # fmt: skip
    assert EvalTransform.from_dict(other.to_dict()) == other
    # Asymmetry of a left-right ramp: the map minus its mirror, antisymmetric about the middle.
    torch.testing.assert_close(x[1], -x[1].flip(-1))


def test_breast_crop_uses_regions(monkeypatch):
    import thermocad.preprocess.regions

    monkeypatch.setattr(
        thermocad.preprocess.regions, "breast_box", lambda a, mask=None: (10, 30, 20, 60)
    )
    cropped = EvalTransform(size=16, crop="breasts").prepare(RAMP)
    direct = EvalTransform(size=16).prepare(RAMP[10:30, 20:60])
    np.testing.assert_allclose(cropped, direct)


def test_bad_options_are_refused():
    with pytest.raises(ConfigError):
        EvalTransform(channels=("colour",))
    with pytest.raises(ConfigError):
        EvalTransform(crop="head")
    with pytest.raises(ConfigError):
        EvalTransform(size=8)(np.zeros((2, 3, 4), np.float32))


def test_augment_is_seeded_and_identity_when_off():
    maps = torch.from_numpy(EvalTransform(size=32).prepare(RAMP))[None, None].repeat(4, 1, 1, 1)
    off = Augmentation(rotate=0, translate=0, zoom=1.0, flip=False, offset=0, scale=0)
    torch.testing.assert_close(augment(maps, off), maps, atol=1e-5, rtol=0)
    a = augment(maps, Augmentation(), torch.Generator().manual_seed(1))
    b = augment(maps, Augmentation(), torch.Generator().manual_seed(1))
    torch.testing.assert_close(a, b)
    assert a.shape == maps.shape and not torch.allclose(a, maps)
    flipped = augment(maps, Augmentation(0, 0, 1.0, True, 0, 0), torch.Generator().manual_seed(0))
    for orig, out in zip(maps, flipped, strict=True):  # each copy is either kept or mirrored
        assert torch.allclose(out, orig, atol=1e-4) or torch.allclose(out, orig.flip(-1), atol=1e-4)


def _symmetric_maps(n=3, size=64):
    """Maps symmetric about their centre column: a warm disc on a cooler square."""
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    disc = np.exp(-((xx - (size - 1) / 2) ** 2 + (yy - size / 3) ** 2) / 60)
    body = (np.abs(xx - (size - 1) / 2) < size / 3) * 0.5 + disc * 0.4
    return torch.from_numpy(body.astype(np.float32))[None, None].repeat(n, 1, 1, 1)


def test_the_asymmetry_channel_is_taken_before_the_map_moves():
    """A symmetric woman stays symmetric under augmentation: the mirror is taken about her
    midline first, then the channel moves. Moving the map first invents edges."""
    transform = EvalTransform(size=64, channels=("asymmetry",), mean=(0.0,), std=(1.0,))
    maps, shift = _symmetric_maps(), Augmentation(rotate=10, translate=0.05, zoom=1.1, scale=0.05)
    out = augmented_input(maps, transform, shift, torch.Generator().manual_seed(0))
    assert out.shape == maps.shape and out.abs().max() < 1e-4
    moved_first = transform.finish(augment(maps, shift, torch.Generator().manual_seed(0)))
    assert moved_first.abs().max() > 0.05  # the old order: misaligned mirror
    # a uniform offset cancels in the map minus its mirror, so none is added to the asymmetry
    offset = Augmentation(rotate=0, translate=0, zoom=1.0, flip=False, offset=0.5, scale=0)
    assert augmented_input(maps, transform, offset).abs().max() < 1e-6


def test_a_temperature_input_is_augmented_as_the_map_itself():
    transform = EvalTransform(size=64)  # the study's input: temperature only
    maps = _symmetric_maps()
    new = augmented_input(maps, transform, Augmentation(), torch.Generator().manual_seed(3))
    old = transform.finish(augment(maps, Augmentation(), torch.Generator().manual_seed(3)))
    torch.testing.assert_close(new, old)
    both = EvalTransform(size=64, channels=("temperature", "asymmetry"), mean=(0.5, 0.0),
                         std=(0.25, 0.25))  # fmt: skip
    torch.testing.assert_close(both.finish(maps), both.normalise(both.channels_of(maps)))


def test_augment_preview_writes_png(tmp_path):
    out = augment_preview(RAMP, tmp_path / "grid.png", EvalTransform(size=32), Augmentation(), n=5)
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("size", "n", "said"),
    [(0, 8, "--size must be 16..1024, got 0"), (224, -1, "-n must be 1..64, got -1"),
     (224, 100000, "-n must be 1..64, got 100000")],
)  # fmt: skip
def test_augment_preview_refuses_sizes_and_counts_it_cannot_draw(tmp_path, size, n, said):
    from thermocad.preprocess.augment import preview_file

    np.save(tmp_path / "t.npy", RAMP)
    out = tmp_path / "out" / "grid.png"
    with pytest.raises(ConfigError, match=f"augment-preview: {re.escape(said)}$"):
        preview_file(tmp_path / "t.npy", out, size=size, n=n)  # only the wrong option named
    assert not out.exists()


def test_augment_preview_help_gives_the_ranges(capsys):
    from thermocad.cli import main

    with pytest.raises(SystemExit):
        main(["augment-preview", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "input size in pixels, 16..1024" in text and "augmented copies, 1..64" in text


@pytest.mark.parametrize("name", ["a.txt", "anoext", "grid.pdf", "m.onnx"])
def test_augment_preview_refuses_an_out_that_is_not_a_png_name(tmp_path, capsys, name):
    """Once a traceback (matplotlib: "Format 'txt' is not supported"), or a PNG under another
    name: refused in one line before the thermogram is read."""
    from thermocad.cli import main

    np.save(tmp_path / "t.npy", RAMP)
    (tmp_path / "out").mkdir()
    assert main(["augment-preview", str(tmp_path / "t.npy"), "--out",
                 str(tmp_path / "out" / name)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert err == (f"thermocad: error: {tmp_path / 'out' / name}: --out is written as a PNG "
                   "image: give it a name ending in .png\n")  # fmt: skip
    assert list((tmp_path / "out").iterdir()) == []


def test_augment_preview_refuses_an_out_in_the_thermograms_folder(tmp_path, capsys, monkeypatch):
    """A PNG there would be read back as a thermogram by the next predict or prepare."""
    from thermocad.cli import main

    (tmp_path / "data").mkdir()
    np.save(tmp_path / "data" / "t.npy", RAMP)
    for out in ("data/grid.png", "data/sub/grid.png"):
        assert main(["augment-preview", str(tmp_path / "data" / "t.npy"), "--out",
                     str(tmp_path / out)]) == 2  # fmt: skip
        assert "is inside the data folder" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path / "data")  # the file named alone: its folder is this one
    assert main(["augment-preview", "t.npy"]) == 2
    assert "augment_preview.png: is inside the data folder" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["t.npy"]
    capsys.readouterr()
    assert (
        main(["augment-preview", "t.npy", "--out", "../grid.png", "--size", "32", "-n", "1"]) == 0
    )
    assert (tmp_path / "grid.png").read_bytes()[:4] == b"\x89PNG"
    assert capsys.readouterr().out == "plot: ../grid.png\n"  # named as lr-find's (README)


def test_augment_preview_closes_its_figure_when_the_write_fails(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    import thermocad.utils.files as files

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "atomic_path", broken)
    before = set(plt.get_fignums())
    with pytest.raises(OSError, match="No space left"):
        augment_preview(RAMP, tmp_path / "grid.png", EvalTransform(size=32), Augmentation(), n=1)
    assert set(plt.get_fignums()) == before


def test_marker_removal_changes_only_the_marker_and_round_trips():
    from thermocad.preprocess.regions import find_marker
    from thermocad.synth.cohort import Nuisances, synth_patient

    frames, _, _ = synth_patient(np.random.default_rng(1), sick=False, height=240, width=320,
                                 nuisances=Nuisances(marker=True))  # fmt: skip
    a = next(iter(frames.values()))
    box = find_marker(a)
    assert box is not None
    keep = EvalTransform(size=320, marker="keep", normalization=Normalization("relative"))
    remove = EvalTransform.from_dict({**keep.to_dict(), "marker": "remove"})
    assert remove.marker == "remove"
    # The cold marker pulls the map down where it sits; removed, that area is skin-warm again.
    rows = slice(box.top + 3, box.bottom - 3)
    kept = keep.prepare(np.pad(a, ((0, 80), (0, 0)), mode="edge")[:320])
    cleaned = remove.prepare(np.pad(a, ((0, 80), (0, 0)), mode="edge")[:320])
    cols = slice(box.left + 3, box.right - 3)
    assert cleaned[rows, cols].mean() > kept[rows, cols].mean() + 0.1
    with pytest.raises(ConfigError, match="marker"):
        EvalTransform(marker="blur")


def test_marker_removal_on_a_grey_image_takes_the_images_unit():
    from thermocad.preprocess.regions import find_marker
    from thermocad.synth.cohort import Nuisances, synth_patient

    frames, _, _ = synth_patient(np.random.default_rng(2), sick=False, height=240, width=320,
                                 nuisances=Nuisances(marker=True))  # fmt: skip
    a = next(iter(frames.values()))
    box = find_marker(a)
    grey = np.round((a - a.min()) / (a.max() - a.min()) * 255).astype(np.float32)
    remove = EvalTransform(size=32, marker="remove", normalization=Normalization("intensity"))
    keep = EvalTransform.from_dict({**remove.to_dict(), "marker": "keep"})
    painted = grey.copy()
    painted[box.slices()] = np.median(grey[box.top : box.bottom, box.right + 2])
    # Read as grey levels the marker is found and painted over; read as degrees it is not.
    on_grey = remove.prepare(grey, "intensity")
    assert np.abs(on_grey - keep.prepare(grey)).max() > 0.05
    assert (
        np.abs(on_grey - keep.prepare(painted)).mean() < np.abs(on_grey - keep.prepare(grey)).mean()
    )
    np.testing.assert_array_equal(remove.prepare(grey), keep.prepare(grey))


def test_background_options_round_trip_and_the_removed_one_is_refused():
    keep = EvalTransform(size=64, normalization=Normalization("relative"))
    symmetric = EvalTransform.from_dict({**keep.to_dict(), "background": "symmetric"})
    assert symmetric.background == "symmetric" and keep.background == "keep"
    # "remove" (the room filled with skin temperature) was measured worse and removed.
    with pytest.raises(ConfigError, match="background 'remove'; choose one of keep, symmetric"):
        EvalTransform.from_dict({**keep.to_dict(), "background": "remove"})
    with pytest.raises(ConfigError, match="background"):
        EvalTransform(background="blur")


def test_symmetric_background_zeroes_the_asymmetry_off_the_body_only():
    from scipy import ndimage as ndi

    from thermocad.preprocess.regions import body_mask
    from thermocad.preprocess.transforms import symmetric_outside_body
    from thermocad.synth.cohort import synth_patient

    frames, _, _ = synth_patient(np.random.default_rng(3), sick=True, height=240, width=320)
    # Square and off-centre: the woman stands 30 columns left of the frame's middle, so the
    # outline differs from its mirror image.
    a = next(iter(frames.values()))[:, 10:250]
    mask = body_mask(a)
    both = ndi.binary_erosion(mask, iterations=2)
    both &= both[:, ::-1]
    assert (~both & mask).mean() > 0.1  # some body whose mirror is room

    keep = EvalTransform(size=240, normalization=Normalization("relative"), channels=("asymmetry",))
    sym = EvalTransform.from_dict({**keep.to_dict(), "background": "symmetric"})
    assert sym.background == "symmetric"
    kept, symmetric = keep.prepare(a), sym.prepare(a)
    asym = lambda m: m - m[:, ::-1]  # noqa: E731 - the asymmetry channel, before mean/std
    assert np.abs(asym(kept)[~both]).max() > 0.3  # skin minus room along the outline
    assert np.abs(asym(symmetric)[~both]).max() < 1e-5
    assert np.allclose(symmetric[both], kept[both], atol=1e-5)  # the skin pairs unchanged
    assert np.allclose(symmetric_outside_body(a, mask, rim=0)[mask & mask[:, ::-1]],
                       a[mask & mask[:, ::-1]])  # fmt: skip


def test_the_chest_crop_and_the_symmetric_background_take_the_cropped_womans_outline():
    """The default input crops to the chest box and then makes the room symmetric: the body
    mask must be cropped with the image, or the smoothing lands beside the outline."""
    from scipy import ndimage as ndi

    from thermocad.preprocess.regions import body_mask, breast_box
    from thermocad.preprocess.resize import resize
    from thermocad.synth.cohort import synth_patient

    frames, _, _ = synth_patient(np.random.default_rng(3), sick=True, height=240, width=320)
    a = np.roll(next(iter(frames.values())), -30, axis=1)  # off the frame's centre
    top, bottom, left, right = breast_box(a)
    size = 128
    mask = resize(body_mask(a)[top:bottom, left:right].astype(np.float32), (size, size),
                  antialias=False) > 0.5  # fmt: skip
    both = ndi.binary_erosion(mask, iterations=2)
    both &= both[:, ::-1]
    options = dict(size=size, normalization=Normalization("relative"), crop="breasts")
    kept = EvalTransform(**options).prepare(a)
    symmetric = EvalTransform(**options, background="symmetric").prepare(a)
    asym = lambda m: m - m[:, ::-1]  # noqa: E731
    assert (~both).mean() > 0.05 and np.abs(asym(kept)[~both]).max() > 0.1
    assert np.abs(asym(symmetric)[~both]).max() < 1e-5
    assert np.allclose(symmetric[both], kept[both], atol=1e-5)


def test_the_relative_window_centres_on_the_skin_not_the_room():
    """The level is the body's median, not the frame's: with room in most of the frame, the
    skin still sits around the window's middle."""
    from thermocad.preprocess.regions import body_mask
    from thermocad.synth.cohort import synth_patient

    frames, _, _ = synth_patient(np.random.default_rng(3), sick=False, height=120, width=160)
    woman = next(iter(frames.values()))
    a = np.full((240, 240), float(np.percentile(woman, 1)), np.float32)  # mostly room
    a[60:180, 40:200] = woman
    mask = body_mask(a)
    assert mask.mean() < 0.4
    level = np.median(a[mask])
    full = EvalTransform(size=240, normalization=Normalization("relative")).prepare(a)
    assert np.median(full[mask]) == pytest.approx(0.5, abs=0.01)
    np.testing.assert_allclose(full[mask], np.clip((a[mask] - level) / 14 + 0.5, 0, 1), atol=0.01)


def test_the_robust_window_keeps_a_spot_above_its_percentiles():
    """Per-image percentiles (0.5, 99.5) set the window, unclipped: a small spot hotter than the
    99.5th percentile stays above 1, so the network still sees it."""
    a = RAMP.copy()
    a[10:12, 10:12] = 60.0  # 4 of 5120 pixels
    robust = Normalization("robust")
    out = robust(a)
    low, high = np.percentile(a, [0.5, 99.5])
    assert out[10, 10] == pytest.approx((60 - low) / (high - low)) and out[10, 10] > 1.5
    assert Normalization("robust", percentiles=(0, 100))(a).max() == pytest.approx(1)


def test_training_defaults_to_the_symmetric_background_and_old_configs_keep_the_room():
    from thermocad.training.config import TrainConfig

    assert TrainConfig().background == "symmetric"
    assert TrainConfig.study().background == "keep"
    old = {k: v for k, v in TrainConfig().to_dict().items() if k != "background"}
    assert TrainConfig.from_dict(old).background == "keep"


def test_augment_preview_keeps_an_existing_png_unless_forced(tmp_path, capsys):
    from thermocad.cli import main

    (tmp_path / "data").mkdir()
    (tmp_path / "out").mkdir()
    np.save(tmp_path / "data" / "t.npy", RAMP)
    out = tmp_path / "out" / "grid.png"
    out.write_bytes(b"an earlier grid")
    argv = ["augment-preview", str(tmp_path / "data" / "t.npy"), "--out", str(out), "--size", "32", "-n", "2"]  # fmt: skip
    assert main(argv) == 2 and out.read_bytes() == b"an earlier grid"
    assert "--force" in capsys.readouterr().err
    assert main([*argv, "--force"]) == 0 and out.read_bytes()[:4] == b"\x89PNG"


def test_augment_preview_refuses_what_is_no_thermogram_and_a_png_written_meanwhile(
    tmp_path, monkeypatch
):
    from thermocad.io import thermal
    from thermocad.preprocess.augment import preview_file
    from thermocad.utils.errors import ImplausibleThermogramError, OutputExistsError

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "T0031.txt").write_text("1 2 3\n4 5 6\n")
    out = tmp_path / "grid.png"
    with pytest.raises(ImplausibleThermogramError, match="T0031.txt: .*not a breast thermogram"):
        preview_file(tmp_path / "data" / "T0031.txt", out, size=32, n=2)  # as prepare excludes it
    assert not out.exists()
    np.save(tmp_path / "data" / "t.npy", RAMP)
    read = thermal.read_thermal

    def another_command_writes(path):  # the name was free when augment-preview checked it
        out.write_bytes(b"written meanwhile")
        return read(path)

    monkeypatch.setattr(thermal, "read_thermal", another_command_writes)
    with pytest.raises(OutputExistsError):
        preview_file(tmp_path / "data" / "t.npy", out, size=32, n=2)
    assert out.read_bytes() == b"written meanwhile"
