"""What a model.json says in words, for predict, explain, the app and the cards: how it was
trained, what it is not (synthetic women, a smoke run, a stale grey-image model), its name as
served, and how many augmented copies a prediction averages."""

from __future__ import annotations

from typing import Any

from thermocad.preprocess import PREPROCESS_VERSION

# A model's or a file's unit in words (model.json `unit`, io.thermal.Thermogram.unit).
UNIT_WORDS = {
    "celsius": "temperatures (°C)",
    "intensity": "image intensities (8/16-bit grey levels)",
}

# A grey-image model.json without data.grey_levels (training.data.GREY_LEVELS) predates the
# way grey images are read now.
STALE_GREY = ("this model was trained on grey images before thermocad read them as it does now "
              "(a 16-bit image's levels on the 8-bit scale, the marker found in grey levels): "
              "its P(Sick) may be off; train it again")  # fmt: skip


def stale_grey(meta: dict) -> bool:
    """Whether a grey-image model predates how grey images are read now (STALE_GREY): one that
    removes the marker (its CNN's transform or its baseline) or scales the levels."""
    if meta.get("unit") != "intensity" or "grey_levels" in (meta.get("data") or {}):
        return False
    transform = meta.get("transform") or {}
    scaled = (transform.get("normalization") or {}).get("method") == "intensity"
    return transform.get("marker") == "remove" or meta.get("baseline") is not None or scaled


def synthetic_training(meta: dict) -> str | None:
    """ "synthetic" or "partly synthetic (N%)" when `thermocad synth`'s women trained the model
    (model.json's data.synthetic_share), else None."""
    share = (meta.get("data") or {}).get("synthetic_share") or 0
    if not isinstance(share, int | float) or share <= 0:
        return None
    return "synthetic" if share >= 1 else f"partly synthetic ({100 * share:.0f}%)"


def training_data(meta: dict) -> str:
    """The model card's dataset, from model.json's data: "synthetic (thermocad synth)"; else
    the training files' formats (data.source_formats): "thermograms in DMR-IR's text format"
    when each was in one (a format, not a provenance: another site's matrices may share it),
    else the formats named; and the share of synthetic women when some were."""
    from thermocad.cohort.prepare import BATCH_BY_FORMAT  # DMR-IR's text formats

    synthetic = synthetic_training(meta)
    if synthetic == "synthetic":
        return "synthetic (thermocad synth)"
    formats = (meta.get("data") or {}).get("source_formats")
    if not isinstance(formats, dict) or not formats:
        data = "not recorded (trained before thermocad recorded its files' formats)"
    elif set(formats) <= set(BATCH_BY_FORMAT):
        data = "thermograms in DMR-IR's text format"
    else:
        data = "the user's own thermograms (" + ", ".join(sorted(map(str, formats))) + " files)"
    if synthetic:  # "partly synthetic (N%)"
        data += f", {synthetic.removeprefix('partly synthetic (').rstrip(')')} of them synthetic (thermocad synth)"
    return data


def other_preprocessing(meta: dict) -> str:
    """'' or why a model of another PREPROCESS_VERSION (model.json) is not to be trusted."""
    made = meta.get("preprocess_version")
    if made == PREPROCESS_VERSION or (not made and not meta.get("arch")):  # nothing to compare
        return ""
    if not made:  # the field came on 2026-12-05, and the preprocessing changed again after it
        return ("this model was written before thermocad recorded the preprocessing a model "
                f"sees (2026-12-05), and it has changed since (now {PREPROCESS_VERSION}): its "
                "inputs are prepared otherwise than when it was trained, so its threshold and "
                "figures may not hold and its calls may differ from those it gave; train it "
                "again")  # fmt: skip
    return (f"this model saw its inputs as thermocad's preprocessing of {made}, and this "
            f"version's is of {PREPROCESS_VERSION}: its threshold and figures were made on other "
            "inputs; train it again")  # fmt: skip


def not_a_model_warning(meta: dict) -> str:
    """'' or a warning for predict, explain and the app: a model of synthetic women, a smoke
    run, or one whose own cross-validation found it of no use (`cv.warnings`, by `fit`)."""
    said = []
    if synthetic := synthetic_training(meta):
        said.append(f"was trained on {synthetic} thermograms (thermocad synth), not on women")
    if batches := (meta.get("config") or {}).get("max_batches"):
        said.append(f"is a smoke run ({batches} batches per epoch), a check of the code")
    # What `thermocad fit` found in its own cross-validation (cv.warnings): said again here.
    found = [str(w) for w in (meta.get("cv") or {}).get("warnings") or [] if w]
    lines = []
    if said:
        lines.append(f"warning: this model {'; it '.join(said)}: its P(Sick) says nothing "
                     "about patients")  # fmt: skip
    if stale_grey(meta):
        lines.append(f"warning: {STALE_GREY}")
    if other := other_preprocessing(meta):
        lines.append(f"warning: {other}")
    if found:
        lines.append(
            f"warning: the cross-validation that made this model found: {'; '.join(found)}"
        )
    return "\n".join(lines)


def log_model_warnings(meta: dict) -> None:
    """not_a_model_warning's lines in the log, one each (predict, explain, evaluate)."""
    from thermocad.utils.progress import log

    for warning in not_a_model_warning(meta).splitlines():
        log(warning)


def demonstration_headline(meta: dict) -> str:
    """'' or a few words for the app's verdict box on a model that makes no result: a smoke run,
    or one trained on `thermocad synth`'s women (`not_a_model_warning` says it at length)."""
    said = []
    if (meta.get("config") or {}).get("max_batches"):
        said.append("Smoke-run model: not a result.")
    if synthetic := synthetic_training(meta):  # "synthetic" or "partly synthetic (N%)"
        how = "on" if synthetic == "synthetic" else synthetic.replace(" synthetic", "") + " on"
        said.append(f"Model trained {how} synthetic women: a demonstration.")
    return " ".join(said)


def table_warning(meta: dict, why: str = "its model card") -> str | None:
    """None, or not_a_model_warning in a few words: for a column of predict's tables, the app's
    verdict and explain's figures (each passed on without the log still says its P(Sick) is no
    result). `why`: where the cross-validation's findings are said in full."""
    said = [headline] if (headline := demonstration_headline(meta)) else []
    if stale_grey(meta) or other_preprocessing(meta):
        said.append("Trained on other preprocessing: train it again.")
    if (meta.get("cv") or {}).get("warnings"):
        said.append(f"Its own cross-validation found it of no use ({why} says why).")
    if edited_threshold_note(meta):  # a hazard review: an edited threshold was in the log only
        said.append(("No threshold stored (Sick at P(Sick) >= 0.5)" if "threshold" not in meta
                     else "Its threshold is not the one its cross-validation chose")
                    + ": no sensitivity or specificity was measured at it.")  # fmt: skip
    return " ".join(said) or None


def edited_threshold_note(meta: dict) -> str:
    """'' or a note when model.json's threshold is not the one its cross-validation chose
    (`threshold_provenance`, written by `thermocad fit`): the figures measured at that one do
    not hold at this one. Or, without a threshold, that the 0.5 it defaults to was chosen on
    no data (Predictor.threshold)."""
    if "threshold" not in meta:
        return ("model.json has no threshold: Sick is called at P(Sick) >= 0.5, a default "
                "chosen on no data (no sensitivity or specificity was measured at it)")  # fmt: skip
    chosen = (meta.get("threshold_provenance") or {}).get("threshold")
    now = meta.get("threshold")
    if not isinstance(chosen, int | float) or not isinstance(now, int | float):
        return ""
    if abs(float(chosen) - float(now)) <= 1e-9:
        return ""
    return (f"the threshold {now:.4f} is not the {chosen:.4f} that the model's cross-validation "
            "chose (model.json edited?): no sensitivity or specificity was measured at it")  # fmt: skip


def served_name(arch: str, averaged: bool) -> str:
    """The model as served: ARCH, or ARCH+baseline when it averages its CNN with the baseline."""
    return f"{arch}+baseline" if averaged else str(arch)


def model_name(meta: dict) -> str:
    """served_name of a model.json."""
    return served_name(str(meta.get("arch", "unknown")), meta.get("baseline") is not None)


def made_by(meta: dict) -> str:
    """The thermocad that trained a model: its version, with its commit where recorded."""
    return str((meta.get("libraries") or {}).get("thermocad") or meta.get("thermocad_version", "?"))


def input_words(meta: dict) -> str:
    """What the CNN sees, in words, from model.json's transform (a CLAIM review: the fit card
    had said "celsius input" of a window on the body's temperature made into its asymmetry)."""
    t = meta.get("transform") or {}
    norm = t.get("normalization") or {}
    method, width = norm.get("method"), norm.get("width", 14)
    low, high = norm.get("percentiles", (0.5, 99.5))
    window = {"relative": f"a {width:g} °C window on the body's median temperature",
              "intensity": "grey levels on the 8-bit scale"}.get(
                  method, f"each image's {low:g}-{high:g} percentile window")  # fmt: skip
    channels = t.get("channels", ["temperature"])
    seen = (f"the left-right asymmetry (the map minus its mirror) of the thermogram in {window}"
            if list(channels) == ["asymmetry"] else f"the thermogram in {window}"
            + (" and its left-right asymmetry" if "asymmetry" in channels else ""))  # fmt: skip
    steps = [("the calibration marker removed" if t.get("marker") == "remove" else ""),
             ("cropped to the chest" if t.get("crop") == "breasts" else ""),
             f"{t.get('size', meta.get('input_size', '?'))} px"]  # fmt: skip
    return f"{seen} ({', '.join(filter(None, steps))})"


def training_sentence(config: dict, origin: dict | None = None) -> str:
    """How a run's config trained it, in words: the stages, then the start (plain text);
    `origin`: model.json's initial_weights (their source and licence), when recorded."""
    start = ("from the weights in " + str(config["weights"]) if config.get("weights")
             else "from ImageNet weights" if config.get("pretrained", True)
             else "from random weights")  # fmt: skip
    if origin and not config.get("weights"):
        start += f" ({origin['source']}; licence: {origin['licence']})"
    if config.get("cycles", 0):
        how = (f"fine-tuned ({config.get('frozen_cycles', 0)} frozen and "
               f"{config.get('cycles', 0)} unfrozen SGDR cycles, as the 2019 study's recipe "
               "trains)")  # fmt: skip
    elif config.get("frozen_cycles", 0):
        how = f"a head trained by {config['frozen_cycles']} SGDR cycles, the body frozen"
    else:
        n = config.get("head_epochs", "?")
        how = (f"a last layer (the head) trained for {n} epoch{'' if n == 1 else 's'} on the "
               "features of the pretrained network, which stays frozen")  # fmt: skip
    return f"{how}, {start}"


def input_kind(unit: str | None) -> str:
    """The thermograms a model is for, in its unit (the cards' intended use)."""
    if unit == "intensity":
        return "frontal thermograms as 8/16-bit grey images, exported as its training images were"
    return "frontal temperature matrices like DMR-IR's"


def statistics_words(unit: str | None, adjective: bool = False) -> str:
    """What the classical baseline's features are statistics of, in a model's unit (grey levels
    for an 8/16-bit image model: a review found "temperature statistics" said of them)."""
    words = "grey-level statistics" if unit == "intensity" else "temperature statistics"
    return words.replace(" ", "-") if adjective else words


def weights_terms(meta: dict[str, Any]) -> str | None:
    """The cards' sentence on the licence of the weights a model started from (a fine-tuned
    copy shared on keeps their notice); None where model.json records none."""
    if not (origin := meta.get("initial_weights")) or (meta.get("config") or {}).get("weights"):
        return None
    return (f"Its starting ImageNet weights ({origin['source']}) have their own licence "
            f"({origin['licence']}); anyone sharing this model must keep that notice.")  # fmt: skip


def tta_views(meta: dict[str, Any], tta: bool | None = None) -> int:
    """How many augmented copies a prediction averages: the model's own number (config.tta: 0
    for the default recipe, 4 for the study's) unless `tta` is False. None, the default
    everywhere, scores as the model was validated and its threshold chosen."""
    return 0 if tta is False else int(meta.get("config", {}).get("tta", 0))


def synthetic_women_note(meta: dict, files) -> str:
    """'' or, when a model trained on women (not only on thermocad synth's) scores files of a synth
    folder (its TRUTH table beside them), what their P(Sick) is: a check of the pipeline."""
    from pathlib import Path

    from thermocad.synth.files import TRUTH

    if synthetic_training(meta) == "synthetic":  # its own kind of women: said elsewhere
        return ""
    folders = sorted({Path(f).parent for f in files if (Path(f).parent / TRUTH).is_file()})
    if not folders:
        return ""
    shown = ", ".join(map(str, folders[:2])) + (", ..." if len(folders) > 2 else "")
    return (
        f"the women of {shown} are synthetic ({TRUTH}: thermocad synth's): their P(Sick) "
        "checks the pipeline, not the model on women"
    )
