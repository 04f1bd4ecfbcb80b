"""external.md: what an external evaluation scored, its table and the lines under it."""

from __future__ import annotations

from pathlib import Path

from thermocad.evaluation.periods import ROOM_DRIFT_UNMEASURED, room_drift_words
from thermocad.utils.tables import fmt_ci


def markdown(result: dict) -> str:
    """external.md: what was scored, the table, the notes."""
    from thermocad.inference.notes import copies

    pat = result["served"]["patient"]
    stored = "metadata" if str(result["run"]).lower().endswith(".onnx") else "model.json"
    lines = [
        f"# {result['model']} on new women",
        "",
        *[f"**{w[0].upper()}{w[1:]}.**\n" for w in result.get("model_warnings", [])],
        *_coverage(result.get("women")),
        *_set_aside(result),
        f"Model: `{result['run']}` (threshold {result['threshold']:.4f}, stored in its "
        f"{stored}: {result.get('threshold_chosen_on') or 'chosen on its validation data'}). "
        f"Women: `{result['data']}` with `{result['labels']}`: {pat['n']} patients scored, "
        f"{pat['n_sick']} Sick. Patient-level P(Sick) is the mean over a woman's files; AUC "
        "intervals by bootstrap, sensitivity and specificity by Wilson."
        + (
            f" Each P(Sick) averages the image and {copies(result['tta'])}, as the "
            "model was validated."
            if result["tta"]
            else ""
        ),
        "",
        result["table"],
        "",
        *[f"- {note}" for note in notes(result)],
        "",
        *[
            f"![{name}]({Path(path).name})"
            for name, path in result.get("plots", {}).items()
            if name in ("roc", "reliability", "confusion")
        ],  # fmt: skip
        "",
    ]
    return "\n".join(lines)


def _set_aside(result: dict) -> list[str]:
    """Lines under the count: scored without the augmented copies the threshold was chosen
    with; the check against the training women set aside by the user (--numbered-apart)."""
    out = []
    if note := result.get("tta_note"):
        out += [f"**{note[0].upper()}{note[1:]}: P(Sick) shifts a little from the predictions its threshold "
                "was chosen on.**", ""]  # fmt: skip
    apart = result.get("numbered_apart") or {}
    if apart.get("given"):
        k = apart.get("shared_with_training")
        shared = ("the run keeps no record of its training women" if k is None else
                  "none of these patient numbers is also a training woman's" if not k else
                  f"{k} of these patient numbers {'is' if k == 1 else 'are'} also a training "
                  "woman's, taken as other women on the user's word")  # fmt: skip
        out += [f"**The check against the training women was set aside (--numbered-apart): "
                f"{shared}.**", ""]  # fmt: skip
    elif "shared_with_training" in apart and apart["shared_with_training"] is None:
        out += ["**The run keeps no record of its training women's numbers (an older "
                "thermocad's run): these women were checked against them by file only, where "
                "model.json records its files. Make sure none of them trained it: a woman who "
                "did is no held-out score.**", ""]  # fmt: skip
    return out


def _coverage(women: dict | None) -> list[str]:
    """The first lines: how many labelled women were scored, then each one not scored."""
    from thermocad.evaluation.coverage import headline, listed

    if not women:  # a result from before the count
        return []
    lines = [f"**{headline(women)}**", "", *[f"- Not scored: {w}" for w in listed(women)]]
    if unlabelled := women.get("unlabelled"):
        shown = ", ".join(map(str, unlabelled[:10])) + (" ..." if len(unlabelled) > 10 else "")
        lines.append(f"- Not scored, not labelled: the files of {len(unlabelled)} patient "
                     f"number(s) the labels do not name ({shown})")  # fmt: skip
    if copies := women.get("copies"):
        lines += ["", f"**Warning: files holding another patient number's frame ({', '.join(copies[:5])}"
                  f"{' ...' if len(copies) > 5 else ''}): one woman under two numbers is scored "
                  "twice; remove the copy or correct its number, and run again with --force**"]  # fmt: skip
    return [*lines, ""]


def notes(result: dict) -> list[str]:
    """The lines under the table: drifts, rooms, the audit's flags, the lockbox."""
    from thermocad.evaluation.lockbox import by_name, describe

    periods = result["served"]["by_period"]
    out = [_period_words(periods, result.get("dated"))]
    date = periods.get("healthy_date_drift")
    if date and date.get("roc_auc") is not None:
        out.append(f"Date drift: among the Healthy women of batch {date['batch']}, P(Sick) tells "
                   f"the {date['n_inside']} imaged in the shared period from the "
                   f"{date['n_outside']} imaged before or after it with AUC "
                   f"{fmt_ci(date['roc_auc'], date.get('ci'))} (0.5: no drift)")  # fmt: skip
    room = periods.get("healthy_room_drift")
    if room:
        out.append(room_drift_words(room) + " (0: no drift)")
    else:  # said, not left out
        out.append(ROOM_DRIFT_UNMEASURED)
    rooms = result.get("rooms")
    if rooms:
        lo, hi = rooms["training_range_c"]
        out.append(f"{rooms['outside']} of {rooms['patients']} women stood in a room outside "
                   f"the training women's {lo:.1f}-{hi:.1f} °C")  # fmt: skip
    out += [frames_words(key, frames) for key, frames in result.get("frames_outside", {}).items()
            if frames["below"] or frames["above"]]  # fmt: skip
    out += result.get("audit_notes", [])
    out.append(describe(by_name(result["lockbox"])))  # the files by name: no home folder
    return out


def _period_words(periods: dict, dated: dict | None) -> str:
    """What the period-matched column holds here, and how many women could be in it."""
    if not periods.get("dates"):
        return ("Period-matched: n/a: no woman has an acquisition date (an `acquisition_date` "
                "column in the labels, or full DMR-IR file names, give it)")  # fmt: skip
    ranges = "; ".join(f"{r[0]} to {r[1]} (batch {b})"
                       for b, r in periods.get("period_ranges", {}).items() if r)  # fmt: skip
    text = ("Period-matched: the women of a batch imaged inside the dates where both classes "
            f"occur in it: {ranges or 'no batch has such dates, so n/a'}")  # fmt: skip
    if dated and dated["dated"] < dated["patients"]:
        undated = dated["patients"] - dated["dated"]
        text += (f"; {dated['dated']} of the {dated['patients']} women are dated: the "
                 f"{undated} without a date are in no period-matched subset, and the date audit "
                 "leaves them out")  # fmt: skip
    return text


# frames_outside's measures in words: what, below the range, above it, what it may mean
FRAME_WORDS = {"skin": ("skin (the body's median)", "cooler", "warmer", "another camera's "
                        "calibration or emissivity, or the acclimatisation?"),
               "sharpness": ("sharpness", "less sharp", "sharper or noisier",
                             "another camera, or its noise?")}  # fmt: skip


def frames_words(key: str, frames: dict) -> str:
    """One line on the frames outside the training files' skin or sharpness range."""
    lo, hi = frames["training_range"]
    shown = f"{lo:.1f}-{hi:.1f} °C" if key == "skin" else f"{lo:.2f}-{hi:.2f}"
    what, below, above, why = FRAME_WORDS[key]
    return (f"{frames['below'] + frames['above']} of {frames['frames']} frames lie outside the "
            f"training files' {what}, {shown} ({frames['below']} {below}, {frames['above']} "
            f"{above}): {why} The model's P(Sick) may follow it (docs/application.md, "
            "acquisition sensitivity)")  # fmt: skip
