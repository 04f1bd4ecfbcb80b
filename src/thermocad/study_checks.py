"""Checks of a study before it starts: a config's sections against the functions they go to
(pipeline.load_settings), the labelled women's classes against the folds, and the demo's number
of patients against its split."""

from __future__ import annotations

import inspect
from typing import Any

from thermocad.utils.errors import ConfigError
from thermocad.utils.values import is_number, is_whole, unknown_names

# A study config's top-level values: what each must be (a string "no" must not read as true).
SCALARS = {
    "folds": ("a whole number, at least 2", lambda v: is_whole(v) and v >= 2),
    "test": ("a fraction in [0, 1)", lambda v: is_number(v) and 0 <= v < 1),
    "seed": ("a whole number, at least 0", lambda v: is_whole(v) and v >= 0),
    "n_boot": ("a whole number of bootstrap draws (0: no intervals)",
               lambda v: is_whole(v) and v >= 0),
    "baseline": ("true or false", lambda v: isinstance(v, bool)),
    "nested": ("true or false", lambda v: isinstance(v, bool)),
    "subgroup": ("a column name, or null or \"\" for none", lambda v: v is None or isinstance(v, str)),
    "inner_folds": ("null or a whole number, at least 2",
                    lambda v: v is None or (is_whole(v) and v >= 2)),
}  # fmt: skip


def check_scalars(settings: dict[str, Any]) -> None:
    """ConfigError naming the first top-level value of the wrong kind ("nested": "no")."""
    for key, (need, ok) in SCALARS.items():
        if key in settings and not ok(settings[key]):
            raise ConfigError(f"{key}: must be {need}, got {settings[key]!r}")


def check_subgroup(subgroup: str | None, labels_columns, name) -> None:
    """ConfigError when a study's subgroup is no column its cohort will have: a labels column
    or one prepare computes (the default, acquisition_batch, always is)."""
    from thermocad.cohort.prepare import COLUMNS, COMPUTED
    from thermocad.evaluation.periods import PERIOD

    own = [f"labels_{c}" if c in COMPUTED else c for c in labels_columns]  # as prepare keeps them
    known = [c for c in dict.fromkeys([*COLUMNS, PERIOD, *own])
             if c not in ("diagnosis", "path", "excluded_reason")]  # fmt: skip
    if subgroup and subgroup not in known:
        raise ConfigError(f"subgroup {subgroup!r} is no column of the cohort (the labels' of "
                          f"{name}, or one prepare computes); choose one of {', '.join(known)}")  # fmt: skip


def check_sections(loaded: dict[str, Any]) -> None:
    """ConfigError naming the first key of a study config's train, arch_overrides, prepare or
    split section that the function it goes to does not take (a misspelling is not ignored)."""
    from thermocad.cohort.prepare import prepare_cohort
    from thermocad.cohort.split import make_split
    from thermocad.training.config import TrainConfig

    for section in ("train", "arch_overrides", "prepare", "split"):
        if not isinstance(loaded.get(section, {}), dict):
            raise ConfigError(f"{section}: must be a JSON object")
    archs = loaded.get("archs", [])  # [] on purpose: the baseline alone
    if not isinstance(archs, list) or not all(isinstance(a, str) and a.strip() for a in archs):
        raise ConfigError(f"archs: must be a list of architecture names, got {archs!r}")
    sections = {"train": loaded.get("train", {}), **{f"arch_overrides.{name}": fields for name,
                fields in loaded.get("arch_overrides", {}).items()}}  # fmt: skip
    for section, fields in sections.items():
        if not isinstance(fields, dict):
            raise ConfigError(f"{section}: must be a JSON object of training options")
        try:
            TrainConfig(**TrainConfig.upgrade({k: v for k, v in fields.items() if k != "arch"}))
            if section != "train" and "arch" not in fields:  # an architecture's own overrides
                _check_named_arch(section.partition(".")[2])
        except ConfigError as exc:
            raise ConfigError(f"{section}: {exc}") from exc
    # Each takes its own keywords; the ones the study sets itself are not the file's to give.
    for section, fn, own in (("prepare", prepare_cohort, {"data_dir", "labels_csv", "out_dir", "force"}),
                             ("split", make_split, {"cohort_csv", "folds", "test", "seed"})):  # fmt: skip
        allowed = set(inspect.signature(fn).parameters) - own
        unknown = sorted(set(loaded.get(section, {})) - allowed)
        if unknown:
            raise ConfigError(f"{section}: {unknown_names(unknown, allowed, 'keys')}")


def _check_named_arch(name: str) -> None:
    """An arch_overrides entry without an "arch" of its own (a recipe variant's) applies to the
    architecture it names: a name that is none (a misspelling) would change nothing, silently."""
    from thermocad.models.registry import get_arch, list_archs
    from thermocad.utils.extras import available

    if name in list_archs() or not available("timm"):  # without timm, training is refused anyway
        return
    try:
        get_arch(name)
    except ConfigError as exc:
        raise ConfigError(f"names no architecture, and has no \"arch\" of its own (as a named "
                          f"recipe variant would), so it would change nothing: {exc}") from exc  # fmt: skip


def check_demo_patients(n_patients: int, settings: dict[str, Any], sick_fraction: float) -> None:
    """Refuse, before the demo writes anything, a number of patients its study cannot split:
    the split's folds (and nested inner folds) need women of each class outside the test set.
    The fewest that fit is found by splitting label tables of the generator's class counts."""
    if n_patients > 9999:  # DMR-IR names hold 4 digits
        raise ConfigError(
            f"--patients (n_patients in Python) must be at most 9999, got {n_patients}"
        )
    if _split_fits(n_patients, settings, sick_fraction):
        return
    fewest = next((n for n in range(1, 1001) if _split_fits(n, settings, sick_fraction)), None)
    need = f"at least {fewest}" if fewest else "more than 1000"
    inner = ", with nested inner folds" if settings["nested"] else ""
    raise ConfigError(f"--patients (n_patients in Python) must be {need} for the demo's study "
                      f"({settings['folds']} patient-grouped folds, each holding both classes, "
                      f"beside a {settings['test']:.0%} test set{inner}; {sick_fraction:.0%} "
                      f"Sick), got {n_patients}")  # fmt: skip


def _split_fits(n_patients: int, settings: dict[str, Any], sick_fraction: float) -> bool:
    """Whether the study's split (and nested check) takes n_patients women, one image each, of
    whom the generator makes synth.cohort.n_sick_of Sick (no image read: labels only)."""
    import contextlib
    import io

    import pandas as pd

    from thermocad.cohort.split import make_split
    from thermocad.evaluation.nested import check_nested
    from thermocad.synth.cohort import n_sick_of

    ids = list(range(1, max(n_patients, 0) + 1))
    sick = n_sick_of(len(ids), sick_fraction)
    table = pd.DataFrame({"path": [f"T{i:04d}.txt" for i in ids], "patient_id": ids,
                          "label": ["Sick"] * sick + ["Healthy"] * (len(ids) - sick)})  # fmt: skip
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # the real split gives its own warnings
            split = make_split(table, folds=settings["folds"], test=settings["test"],
                               seed=settings["seed"], **settings["split"])  # fmt: skip
            if settings["nested"]:
                check_nested(split, settings["archs"], settings["baseline"],
                             settings["inner_folds"])  # fmt: skip
    except ConfigError:
        return False
    return True


def check_study_women(labels, data_numbers: set[int], folds: int, name) -> None:
    """ConfigError naming the labels when the women who can enter the study (labelled, with
    files in the data folder, not excluded by the labels' own filters) hold one class only, or
    fewer women of a class than the folds need even before a test set is set apart: refused
    before anything is prepared, trained or written."""
    from thermocad.io.labels import label_filters, labels_name

    name = labels_name(name)
    rows = labels[labels["patient_id"].astype(int).isin(data_numbers)] if data_numbers else labels
    rows = rows[[not label_filters(r) for r in rows.to_dict("records")]]
    counts = {c: int((rows["diagnosis"] == c).sum()) for c in ("Healthy", "Sick")}
    said = ", ".join(f"{n} {c}" for c, n in counts.items())
    if min(counts.values()) == 0:
        raise ConfigError(f"{name}: the women of the study are of one class ({said}): a study "
                          "compares Sick with Healthy women and needs both")  # fmt: skip
    if min(counts.values()) < folds:
        raise ConfigError(f"{name}: {folds} folds need at least {folds} women of each class, and "
                          f"the study has {said} before any are set apart for the test: use "
                          "fewer --folds")  # fmt: skip


def split_keys(config_file) -> list[str]:
    """The keys of a study config that only `study` uses (it makes the split)."""
    import json
    from pathlib import Path

    loaded = json.loads(Path(config_file).read_text(encoding="utf-8-sig"))  # read already
    return [k for k in ("folds", "test", "prepare", "split") if k in loaded]


def check_compare_out(out_dir) -> None:
    """`compare` refuses a study's own comparison folder, even with --force: the study's
    report.html and study.json were made from it, and would no longer say what it holds."""
    from pathlib import Path

    from thermocad.utils.files import maker

    out = Path(out_dir).resolve()  # a link to it, or `--out .` inside it, is it too
    study = out.parent
    if out.name == "compare" and study.is_dir() and maker(study) == "study":
        raise ConfigError(f"{out_dir}: a study's own comparison (its report.html and study.json "
                          f"describe it): run the study again (thermocad study ... --out {study} "
                          "--force or --resume), or give compare another --out")  # fmt: skip


def check_units(cohort_csv, settings: dict[str, Any], data_dir) -> None:
    """Refuse 8/16-bit images before the split when a candidate's window is in degrees (the
    default's): each CNN had failed on `--norm`, a flag study lacks, and the baseline alone
    went on to open the test women (a grey-image review)."""
    import pandas as pd

    from thermocad.training.config import TrainConfig

    cohort = pd.read_csv(cohort_csv, usecols=["path", "unit"])
    images = cohort.loc[cohort["unit"].astype(str) == "intensity", "path"]
    train, overrides = settings.get("train", {}), settings.get("arch_overrides", {})
    norms = [{**train, **overrides.get(arch, {})}.get("norm", TrainConfig.norm)
             for arch in settings.get("archs", [])]  # fmt: skip
    if len(images) and "relative" in norms:
        raise ConfigError(
            f"{data_dir}: {len(images)} of {len(cohort)} files are 8/16-bit images (e.g. "
            f"{images.iloc[0]}), grey levels that hold no temperatures, and the study's recipe "
            "reads degrees (norm 'relative'): give the study a --config with "
            '"train": {"norm": "robust"} (docs/evaluation.md), or export temperatures in °C'
        )
