"""The test split as a lockbox: a ledger of every model scored on it.

A test split estimates how a model does on women it has never seen only until a choice is made
on it. Each time a model is scored on the `test` rows of a split, a line is appended to a
ledger beside the split file (`split.csv` -> `split.test_openings.jsonl`): when, the test
patients' fingerprint, the model's fingerprint, where it came from and its patient AUC.

A model is identified by what it is (model_identity.py: its weights' digest, baseline,
transform and TTA views), so the same run scored on other files of these women, or through its
ONNX export, is not a new opening, while another architecture, a retrained model or TTA
switched on is; one that records no weights digest, by its rounded P(Sick) per file. The
threshold is part of either print. The number of distinct models scored on the same test
patients is the number of openings; from the second on, a choice among them has been made on
the test set, and its figures are no longer an unseen-women estimate. thermocad says so in the
log, metrics.json and the report; it never refuses on the count, only when the ledger cannot
be written (an opening nobody counted would let the next model read as the first). Each is
also counted in the user's ledger (user_ledger.py), which knows women by their files' bytes.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from thermocad.evaluation.ledger_file import (  # noqa: F401 - ledger_path: the lockbox's
    append_entry,
    ledger_path,
    locked,
    read_ledger,
)
from thermocad.evaluation.model_identity import (
    SCORE_MODEL,
    aliases,
    identity_print,
    model_fingerprint,
    patients_fingerprint,
)
from thermocad.utils.errors import ConfigError, ModelFormatError
from thermocad.utils.progress import log
from thermocad.utils.tables import read_table


def openings(path: Path, test: str, patients: set[str] | None = None,
             legacy: dict[str, str] | None = None,
             alias: dict[str, str] | None = None) -> list[tuple[str, str]]:  # fmt: skip
    """(time, model print) of the ledger's entries for these test patients, in order, or for
    any of them (`patients`: an entry scored on a set that shares one woman counts too: a test
    set re-drawn with one woman fewer is not new women). `legacy`: an entry written before
    ledgers named their women and thresholds, under its scores-only print, is read as the
    model that print maps to (the same scores are the same model); one printed by scores, as
    the model an entry printed by identity (or `alias`) has it for (model_identity.aliases)."""
    entries = read_ledger(path)
    if patients is None:  # as recorded: the women of the entries of this test fingerprint
        patients = {p for e in entries if e.get("test") == test for p in e.get("patients", ())}
    legacy, alias = dict(legacy or {}), aliases(entries, alias)
    for e in entries:  # a newer entry's scores-only print names its model for older entries
        if "scores" in e and "model" in e:
            legacy.setdefault(e["scores"], e["model"])
    found = [(str(e.get("time", "")),
              legacy.get(e["model"], e["model"]) if "patients" not in e else e["model"])
             for e in entries if "model" in e
             and (e.get("test") == test or patients & set(map(str, e.get("patients", ()))))]  # fmt: skip
    return [(t, alias.get(m, m)) for t, m in found]


def record_opening(ledger: str | os.PathLike, pred: pd.DataFrame, source: str,
                   patient_auc: float | None = None, threshold: float | None = None,
                   identity: str | None = None) -> dict:  # fmt: skip
    """Record in the file `ledger` (ledger_path) and in the user ledger (user_ledger.py) that
    `pred` (test rows with path, patient_id, prob) was scored; return {"opening", "models",
    "n_patients", "ledger", "new"} (and where and as what the user ledger has it): `opening`
    is this model's place among the distinct models scored on these women or any of them, in
    either ledger, `models` how many there are now ("unrecorded": why the entry could not be
    written); `threshold`: the one the calls were made at, part of the model's print;
    `identity`: what the model is (model_identity; None: it is known by its scores)."""
    from thermocad.evaluation import user_ledger as U

    path, user = Path(ledger), U.user_ledger_path()
    test, scored = patients_fingerprint(pred), model_fingerprint(pred, threshold)
    model = scored if identity is None else identity_print(identity, threshold)
    patients = sorted(map(str, pd.unique(pred["patient_id"])))
    if me := U.identify(pred) or {}:  # the women and the model by content; {}: a file unread
        me[SCORE_MODEL] = model_fingerprint(pred.assign(path=me["digests"]), threshold)
        me["model"] = me[SCORE_MODEL] if identity is None else model
    mine = me.get("model", model)
    with U.held(user if me else None) as fd, locked(path, user) as own:  # one step: read to write
        split = openings(path, test, set(patients), {model_fingerprint(pred): model},
                         {scored: model})  # fmt: skip
        order = U.merged(split, user if me else None, set(me.get("women", ())), fd=fd,
                         alias={model: mine, me.get(SCORE_MODEL, model): mine},
                         files=set(me.get("files", ())))  # fmt: skip
        if new := mine not in order:
            order.append(mine)
        entry = {"time": datetime.now(UTC).isoformat(timespec="seconds"), "test": test,
                 "model": model, "source": str(source), "n_patients": len(patients),
                 "patient_auc": None if patient_auc is None else round(float(patient_auc), 4),
                 "patients": patients, "scores": model_fingerprint(pred)}  # fmt: skip
        if identity is not None:  # what lets an older entry of this model be known
            entry[SCORE_MODEL] = scored
        # Absolute: a report rewritten from another folder must find the same ledger.
        out = {"opening": order.index(mine) + 1, "models": len(order), "test": test,
               "n_patients": len(patients), "ledger": str(path.absolute()), "new": new}  # fmt: skip
        try:
            append_entry(path, entry, own)
        except OSError as exc:
            out["unrecorded"] = exc.strerror or str(exc)
        if fd is not None and U.record(user, U.user_entry(entry, me, path), fd):
            out.update(user_ledger=home_short(user), women=me["test"])
    log(describe(out))
    return out


def refreshed(lockbox: dict) -> dict:
    """`lockbox` (as recorded) with `models` counted again from its ledgers as they are now, so
    a report rewritten later says how many models have been scored on these patients since."""
    from thermocad.evaluation.user_ledger import merged

    path = Path(lockbox.get("ledger", ""))
    user = Path(lockbox.get("user_ledger") or "").expanduser()  # written as ~/...
    if "test" not in lockbox or not path.is_file():
        return lockbox
    found = merged(openings(path, lockbox["test"]), user if user.is_file() else None,
                   test=lockbox.get("women"))  # fmt: skip
    return {**lockbox, "models": max(len(found), lockbox["models"])}


def home_short(path: Path) -> str:
    """`path`, absolute, with the home folder written `~` (metrics.json names no home folder;
    `refreshed` expands it again)."""
    path = path.absolute()
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except (ValueError, RuntimeError):  # outside the home folder, or no home folder known
        return str(path)


def by_name(lockbox: dict) -> dict:
    """`lockbox` with its ledgers named by their files' names, for a report: no home folder."""
    return {**lockbox, **{k: Path(lockbox[k]).name for k in ("ledger", "user_ledger")
                          if lockbox.get(k)}}  # fmt: skip


def _where(box: dict) -> str:
    user = f"; user ledger {box['user_ledger']}" if box.get("user_ledger") else ""
    return f"ledger {box['ledger']}{user}"


def describe(lockbox: dict) -> str:
    """One sentence for the log and the report."""
    n, k = lockbox["n_patients"], lockbox["models"]
    if lockbox.get("unrecorded"):
        lost = (f"test set: this scoring of {n} patients could not be recorded in the ledger "
                f"{lockbox['ledger']} ({lockbox['unrecorded']})")  # fmt: skip
        if lockbox.get("user_ledger"):
            return (f"{lost}; the user ledger {lockbox['user_ledger']} did record it: with it, "
                    f"{k} different model(s) have been scored on these patients or some of "
                    "them as far as the ledgers know")  # fmt: skip
        return (f"{lost}, which holds {k - lockbox['new']} earlier model(s) on them: how many "
                "have been scored is unknown")  # fmt: skip
    if k <= 1:
        return f"test set: the first model scored on these {n} patients ({_where(lockbox)})"
    place = lockbox.get("opening")
    this = f", this one the {_ordinal(place)}" if place else ""
    return (f"test set: {k} different models have now been scored on these {n} patients or "
            f"some of them{this} ({_where(lockbox)}); a choice among them made on this "
            "test set is not an unseen-women estimate: set new women aside for the next one")  # fmt: skip


def _ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st..."""
    last = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{last}"


TRAINED_ON = "trained_on.csv"  # written by train beside model.json: patient_id, role


def run_patients(run_home: Path) -> dict[str, str]:
    """Patient -> "train" or "valid" for the women a run was trained or tuned on, as far as its
    folder says: `train`'s trained_on.csv, else a `fit` folder's split.csv (every row but
    `test` ones trained it); for an exported .onnx file, the record `export` put in its
    metadata (never the files beside it, which may be anyone's); empty when nothing says."""
    run_home = Path(run_home)
    if run_home.suffix.lower() == ".onnx":
        return _exported_patients(run_home)
    record = run_home / TRAINED_ON
    if record.is_file():
        table = read_table(record, "the run's training record")
        if not {"patient_id", "role"} <= set(table.columns):  # never split.csv's word instead
            raise ModelFormatError(f"{record}: not the record of who trained the model (no "
                                   "patient_id and role columns): written over since? Without "
                                   "it, its training women cannot be told from new women")  # fmt: skip
        return _roles(zip(table["patient_id"], table["role"], strict=True))
    split_csv = run_home / "split.csv"
    if not split_csv.is_file():
        return {}
    split = read_table(split_csv, "the run's split file")
    if "patient_id" not in split.columns:
        return {}
    if "split" not in split.columns:
        return dict.fromkeys(split["patient_id"].astype(str), "train")
    split = split[split["split"].astype(str) != "test"]
    if (run_home / "cv").is_dir():  # a `fit` folder: its final model trained on every one
        return dict.fromkeys(split["patient_id"].astype(str), "train")
    roles = split["split"].astype(str).where(split["split"].astype(str) == "valid", "train")
    return dict(zip(split["patient_id"].astype(str), roles, strict=True))


def _exported_patients(onnx_path: Path) -> dict[str, str]:
    """The training record inside an exported model's metadata (model.json's `trained_on`)."""
    from thermocad.models.meta import onnx_metadata

    try:
        record = onnx_metadata(onnx_path, say_changed=False).get("trained_on") or {}
    except Exception:  # noqa: BLE001 - an unreadable model fails where it is loaded, by name
        return {}
    return _roles(record.items()) if isinstance(record, dict) else {}


def _roles(pairs) -> dict[str, str]:
    """Patient -> "train" or "valid" from a training record's (patient, role) pairs: a role
    this thermocad does not know trained the model (a newer one's had switched the check off)."""
    return {str(p): "valid" if str(r) == "valid" else "train" for p, r in pairs}


def seen_patients(run_home: Path) -> set[str]:
    """The patients a run was trained or tuned on (`run_patients`)."""
    return set(run_patients(run_home))


def check_unseen(patients, run_home: Path, labels_csv: str | os.PathLike,
                 say_unknown: bool = True, roles: tuple[str, ...] = ("train", "valid"),
                 numbered_apart: bool | None = False) -> None:  # fmt: skip
    """Refuse women who trained the model (`evaluate --data`, and `--split`'s test rows; for
    its valid rows, `roles=("train",)`): a held-out score needs women it never saw.
    `say_unknown`: log when the folder does not say which women trained it. `numbered_apart`:
    the new women's numbers are another site's, so shared numbers are only said; None: rows of
    a split, numbered as the training women are (no such option)."""
    known = run_patients(run_home)
    seen = {p for p, role in known.items() if role in roles}
    if not known:
        if say_unknown:
            log(f"{run_home} keeps no record of its training women's numbers ({TRAINED_ON} or "
                "split.csv), so the new women cannot be checked against them by number (files "
                "that are training files, byte for byte or saved again, are still refused, where "
                "model.json records them); make sure they are not the same")  # fmt: skip
        return
    both = sorted(set(map(str, patients)) & seen, key=lambda v: (len(v), v))
    if both:
        named = ", ".join(both[:8]) + (f" and {len(both) - 8} more" if len(both) > 8 else "")
        if numbered_apart:
            are = "is" if len(both) == 1 else "are"
            log(f"note: {len(both)} of these patient numbers {are} also training women's in "
                f"{run_home} (patient {named}); taken as other women (--numbered-apart)")  # fmt: skip
            return
        hint = ("if they are the same women (the same database's numbers), leave them out of "
                "the labels; only if they are other women numbered apart, e.g. another "
                "site's, give --numbered-apart" if numbered_apart is not None else "give the "
                "split the model was trained with, whose test women it never saw")  # fmt: skip
        if numbered_apart is None and len(both) == len(set(map(str, patients))):
            hint = ("every one of them: a model trained on all its women, as `fit` and `train "
                    "--fold all` make, has none held out; score it on new women with "
                    "`evaluate --data`")  # fmt: skip
        raise ConfigError(
            f"{labels_csv}: {len(both)} of these patients trained the model in {run_home} "
            f"(patient {named}): a held-out score needs women it never saw ({hint})"
        )


def check_split_rows(rows: pd.DataFrame, on: str, run_home: Path, source) -> None:
    """`evaluate --split`'s guard: its test rows may hold no woman who trained or tuned the
    model, its valid rows none who trained it; its train rows are the model's own (said). Valid
    or train rows of women its record does not name are new to it: a test, which only
    `--on test` counts in the ledger, so they are refused here. An image-level split's rows
    (the study's protocol: a woman's other images may have trained the model) are not checked
    by woman, only warned of: its files are checked by their bytes where they are loaded."""
    if on != "test" and (known := run_patients(run_home)):
        new = sorted(set(map(str, rows["patient_id"])) - set(known), key=lambda v: (len(v), v))
        if new:
            named = ", ".join(new[:8]) + (f" and {len(new) - 8} more" if len(new) > 8 else "")
            raise ConfigError(
                f"{source}: {len(new)} of these {on} rows are women the model in {run_home} "
                f"never saw (patient {named}; its training record names who trained and tuned "
                "it): scoring them is a test, counted only as one: give the split the model was "
                "trained with, or score new women with --on test"
            )
    if on == "train":
        log("note: these are the model's training women: their figures are in-sample")
        return
    if "split_unit" in rows.columns and (rows["split_unit"].astype(str) == "image").any():
        log("warning: an image-level split (the study's protocol): a woman may have trained "
            "the model on her other images, so these figures are optimistic")  # fmt: skip
        return
    roles = ("train", "valid") if on == "test" else ("train",)
    check_unseen(
        rows["patient_id"], run_home, source, say_unknown=False, roles=roles, numbered_apart=None
    )
