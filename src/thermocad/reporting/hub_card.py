"""README.md of a run folder: a Hugging Face model card. The folder also holds patient-level
files (the split, the cohort, predictions per woman): the card's Files section says which files
to publish and which to keep under the data's terms.

Layout of huggingface.co/docs/hub/model-cards: YAML metadata (license, tags, datasets,
metrics in a model-index), then the sections a reader of a medical model needs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from thermocad.evaluation.confounds import confound_notes
from thermocad.evaluation.periods import dates
from thermocad.evaluation.thresholds import rule_words
from thermocad.models.words import (
    input_kind,
    input_words,
    made_by,
    model_name,
    statistics_words,
    synthetic_training,
    training_data,
    training_sentence,
)
from thermocad.reporting.card_terms import data_terms
from thermocad.reporting.card_validation import (
    HEADLINE,
    ci_text,
    evaluation_lines,
    validation_summary,
)
from thermocad.reporting.fit_card import cv_evaluation, headline
from thermocad.utils.files import atomic_write_text
from thermocad.utils.markdown import md_text

CARD = "README.md"
TAGS = ("thermography", "breast-cancer", "image-classification", "timm", "fastai")
THRESHOLD_WORDS = {"sensitivity": f"{rule_words()} on validation",
                   "given": "given at training, e.g. the cross-validated one"}  # fmt: skip
NOT_A_DIAGNOSIS = (
    "**Not a diagnosis.** This is research software, not a medical device. Thermography is at "
    "most an adjunct to mammography, never a stand-alone test, and this model's output must not "
    "be used to decide on anyone's care."
)

# The card's licence is "other" for such weights (front_matter); this sentence says why.
REFERENCE_STANDARD = (
    "Labels: each woman's diagnosis (Healthy / Sick) in the labels table is the reference "
    "standard. How it was made (biopsy, imaging, follow-up) is as that table's source records "
    "it; thermocad does not check it."
)
UNMEASURED = (
    "Not measured: performance by age, breast density, or the tumour's size, stage or type "
    "(thermocad breaks its figures down by acquisition batch and period only)."
)
CHOSEN_ON_DMR = (
    "thermocad's default recipe was chosen on DMR-IR's 120 development women "
    "(docs/results.md): where these are the training women, every figure above is optimistic, "
    "the AUC too, nested or not."
)


def _unused(meta: dict) -> list[str]:
    """The card's sentence on labelled women `fit` found no file of (none: no sentence)."""
    if not (missing := (meta.get("data") or {}).get("labelled_without_files")):
        return []
    n, one = len(missing), len(missing) == 1
    return [f"{n} wom{'a' if one else 'e'}n in the labels had no thermogram in the data folder and "
            f"{'was' if one else 'were'} not used (model.json's `data.labelled_without_files` "
            f"gives {'her patient number' if one else 'their patient numbers'}).", ""]  # fmt: skip


def _number(value: float) -> str:
    return "null" if not np.isfinite(value) else f"{value:.4f}"


def _tuned_on(meta: dict) -> str:
    """What the model-index's dataset name adds when the threshold was chosen on those women:
    the figures at it are then in-sample (the Hub shows the name beside each)."""
    if meta.get("threshold_method") in (None, "given") or meta.get("threshold_provenance"):
        return ""
    return " (its threshold chosen on them: sensitivity and specificity are optimistic)"


def front_matter(meta: dict, summary: dict | None) -> str:
    """The YAML header (every string JSON-quoted, which YAML reads as the same string)."""
    q = json.dumps
    # thermocad's code is MIT; weights trained on women's thermograms carry their data's terms.
    own = synthetic_training(meta) == "synthetic"
    # Weights begun from ImageNet weights carry those weights' licence too (README's terms).
    terms = "starting-weights-terms" if own else "training-data-terms"
    own = own and not meta.get("initial_weights")
    lines = ["---", "license: mit" if own else "license: other",
             *([] if own else [f"license_name: {terms}", "license_link: README.md"]),
             "library_name: timm", "pipeline_tag: image-classification"]  # fmt: skip
    data = training_data(meta)
    lines += ["tags:"] + [f"- {t}" for t in TAGS] + ["datasets:", f"- {q(data)}"]
    if summary:
        lines += ["metrics:"] + [f"- {key}" for key, _ in HEADLINE]
        lines += [
            "model-index:",
            f"- name: {q('thermocad-' + str(meta.get('arch', 'model')))}",
            "  results:",
            "  - task:",
            "      type: image-classification",
            "      name: Breast thermogram classification (Sick vs Healthy)",
            "    dataset:",
            f"      type: {q(data)}",
            f"      name: {q('validation patients of this run' + _tuned_on(meta))}",
            "    metrics:",
        ]
        for key, label in HEADLINE:
            lines += [
                f"    - type: {key}",
                f"      name: {q(f'{label} (95% CI {ci_text(summary, key)})')}",
                f"      value: {_number(float(summary[key]))}",
            ]
    return "\n".join(lines + ["---", ""])


def _counts(train: pd.DataFrame, valid: pd.DataFrame | None) -> str:
    """Images (patients) by split, class and, when recorded, acquisition batch."""
    parts = [("training", train)] + ([("validation", valid)] if valid is not None else [])
    by = ["acquisition_batch", "label"] if "acquisition_batch" in train.columns else ["label"]
    dated = bool("acquisition_date" in train.columns and train["acquisition_date"].notna().any())
    rows = ["| split | " + " | ".join(by) + " | images | patients |" + " acquired |" * dated,
            "|---" * (len(by) + 3 + dated) + "|"]  # fmt: skip
    for name, df in parts:
        for key, g in df.groupby(by, sort=True, dropna=False):  # no batch: counted, as n/a
            key = key if isinstance(key, tuple) else (key,)
            cells = " | ".join("n/a" if pd.isna(k) or k == "" else str(k) for k in key)
            when = ""
            if dated:  # the dates' span: the classes imaged at different times is a confound
                when = f" {_span(dates(g))} |"
            rows.append(f"| {name} | {cells} | {len(g)} | {g['patient_id'].nunique()} |{when}")
    return "\n".join(rows)


def _span(days: pd.Series) -> str:
    """'2012-10-08 to 2015-03-13' (evaluation.periods.dates: ISO dates, as prepare writes
    them), with how many images have no such date; 'n/a' when none has."""
    undated = int(days.isna().sum())
    if undated == len(days):
        return "n/a"
    return (f"{days.min():%Y-%m-%d} to {days.max():%Y-%m-%d}"
            + (f" ({undated} undated)" if undated else ""))  # fmt: skip


def _threshold_source(meta: dict) -> str:
    """Where the stored threshold came from, in a few words."""
    prov = meta.get("threshold_provenance") or {}
    if prov:  # `thermocad fit`'s (an older one may name its rule: threshold_method)
        rule = rule_words(prov.get("target_sensitivity"), prov.get("threshold_method"))
        return f"{rule} on the pooled out-of-fold predictions of `thermocad fit`'s cross-validation"
    return THRESHOLD_WORDS.get(str(meta.get("threshold_method")), "given at training")


def render_card(meta: dict, train: pd.DataFrame, valid: pd.DataFrame | None,
                summary: dict | None) -> str:  # fmt: skip
    """The whole README.md text."""
    arch, size = meta.get("arch", "model"), meta.get("input_size")
    threshold = float(meta.get("threshold", 0.5))
    ensemble = (f"the mean of the CNN's and a classical {statistics_words(meta.get('unit'), True)} "
                "baseline's" if meta.get("baseline") is not None else "the CNN's alone")  # fmt: skip
    how = _threshold_source(meta)
    config = meta.get("config") or {}
    trained = training_sentence(config, meta.get("initial_weights"))
    if config.get("max_batches"):  # a smoke preset: a check of the code, not a model
        trained += (f" (a smoke run: {config['max_batches']} batches per epoch at "
                    f"{size} px; it checks the code and is not a model to use)")  # fmt: skip
    rows = pd.concat([train] + ([valid] if valid is not None else []))
    title = f"# thermocad {model_name(meta)}: breast thermogram classifier"
    out = [front_matter(meta, summary), title, "", *headline(meta.get("cv") or {})]
    out += [f"Model: `{arch}`, a CNN that sees {input_words(meta)}, trained "
            f"with thermocad {made_by(meta)}{_computed_on(meta)}: {trained}. "
            "Its P(Sick) for one "
            f"frontal breast thermogram is {ensemble}; the stored decision threshold is "
            f"{threshold:.4g} ({how}).", ""]  # fmt: skip
    if synthetic := synthetic_training(meta):
        out += [f"**Trained on {synthetic} thermograms** written by `thermocad synth`, not on "
                "women: a demonstration of the procedure; it says nothing about real patients.",
                ""]  # fmt: skip
    out += [NOT_A_DIAGNOSIS, ""]
    out += ["## Intended use", "",
            "Research on computer-aided detection in infrared breast thermograms "
            f"({input_kind(meta.get('unit'))}): reproducing and auditing results, and teaching. Not "
            "for screening, triage or any clinical decision. Use it with `thermocad predict "
            "THIS_FOLDER FILES... --out predictions.csv` run outside this folder (no command writes "
            "its results in it), or export it to ONNX (`thermocad "
            "export`) to predict without PyTorch.", ""]  # fmt: skip
    out += ["## Training data", "", _counts(train, valid), "", REFERENCE_STANDARD, "",
            *data_terms(meta), *_unused(meta)]  # fmt: skip
    evaluation = (evaluation_lines(summary, threshold) if summary or not meta.get("cv")
                  else cv_evaluation(meta["cv"]))  # fmt: skip
    out += ["## Evaluation", ""] + evaluation + [""]
    out += ["## Limitations and confounds measured", "", *_limitations(meta, rows), ""]
    out += ["## Files", "", _files(meta, valid), ""]
    return "\n".join(out)


def _limitations(meta: dict, rows: pd.DataFrame) -> list[str]:
    """The card's limitations: fit's warnings, the confounds measured on its women, the rooms
    and sharpness it trained on, and what nobody measured."""
    out = [f"- **{md_text(w)}**" for w in (meta.get("cv") or {}).get("warnings") or []]
    out += [f"- {note}" for note in confound_notes(rows)]
    data = meta.get("data") or {}
    if rooms := data.get("room_range_c"):
        out += [f"- The training women were imaged in rooms of {rooms[0]:.1f}-{rooms[1]:.1f} °C "
                "(the background's median). `predict` notes a thermogram from a room outside "
                "that range; inside it the score also moves with the room (on DMR-IR a warmer "
                "room raises the Healthy women's P(Sick): docs/evaluation.md, room drift)."]  # fmt: skip
    if skin := data.get("skin_range_c"):
        out += [f"- The training women's skin (the body's median) spans {skin[0]:.1f}-"
                f"{skin[1]:.1f} °C; `predict` notes a thermogram outside it. Inside it a camera "
                "calibrated 1 °C otherwise still moves the scores (docs/application.md, "
                "\"Before scoring\")."]  # fmt: skip
    if sharp := data.get("sharpness_range"):
        out += [f"- Its training files' sharpness spans {sharp[0]:.2f}-{sharp[1]:.2f}; `predict` "
                "notes a less sharp one (blurred, out of focus, enlarged) and a sharper one (a noisier "
                "sensor, another camera)."]  # fmt: skip
    out += ["- A small single-centre set: the intervals above are wide, and performance on other "
            "cameras, protocols and populations is unknown. Before trusting it on new women, "
            "score it once on a labelled set of them: `thermocad evaluate THIS_FOLDER --data "
            "NEW_FOLDER --labels NEW_LABELS.csv` (the served model and each half, by period).",
            f"- {UNMEASURED}",
            *([] if synthetic_training(meta) else [f"- {CHOSEN_ON_DMR}"]),
            "- The cross-validation chose the threshold on these same women's out-of-fold "
            "predictions, so its sensitivity and specificity there are optimistic; new women "
            "tell." if meta.get("cv") else
            "- Validation patients chose the threshold (when not given), so its sensitivity and "
            "specificity are optimistic; see a held-out test evaluation (`thermocad evaluate`)."]  # fmt: skip
    return out


def _files(meta: dict, valid: pd.DataFrame | None) -> str:
    """What the run folder holds, in two parts: what to publish, and the patient-level files
    (each woman's file path, label, date, P(Sick)) to keep under the data's terms."""
    digest = meta.get("weights_sha256")
    weights = f", sha256 {digest[:16]}..." if isinstance(digest, str) and digest else ""
    share = [f"`model.safetensors` + `model.json` (weights{weights}, and everything needed to "
             "predict)",
             "`config.json`", "`history.csv` (per-epoch curve) and the training plots "
             "(lr_find.png, schedule.png, history.png, where made)", "this `README.md`"]  # fmt: skip
    keep = ["`trained_on.csv` (the women it trained on)"] + ["`valid_predictions.csv`"] * (
        valid is not None)  # fmt: skip
    if meta.get("cv"):
        share.append("`cv/metrics.json` (the cross-validation's figures)")
        keep += ["`split.csv` and `cohort/` (the women, their files and folds)",
                 "the rest of `cv/` (its splits, each woman's out-of-fold P(Sick); each fold's "
                 "own card says which of its files to publish)"]  # fmt: skip
    return ("To publish:\n\n" + "".join(f"- {f}\n" for f in share) + "\n`model.json` also keeps "
            "a digest of each training file with its patient number, so whoever holds one of "
            "those files can tell that she trained the model.\n\nPatient-level, to keep under "
            "the data's terms and leave out of anything published:\n\n"
            + "".join(f"- {f}\n" for f in keep))  # fmt: skip


def write_model_card(out_dir: Path, meta: dict[str, Any], train: pd.DataFrame,
                     valid: pd.DataFrame | None, probs=None) -> Path:  # fmt: skip
    """Write README.md beside model.json. `valid`: held-out rows (None for a final model on
    every patient); `probs`: the model's P(Sick) on them, for the metrics and intervals."""
    summary = None
    if valid is not None and probs is not None and len(valid):
        preds = valid.assign(prob=np.asarray(probs, float))
        summary = validation_summary(preds, float(meta.get("threshold", 0.5)))
    return atomic_write_text(Path(out_dir) / CARD, render_card(meta, train, valid, summary))


def _computed_on(meta: dict) -> str:
    """' on cpu (2 CPU threads)', ' on cuda:0 (NVIDIA H100, 1 CPU thread, 4 processes)': where
    the weights were computed (model.json's `compute`, since 2026-12-06; '' before). A count
    that is not a whole number of at least 1 is left out."""
    found = meta.get("compute")
    if not isinstance(found, dict) or not isinstance(found.get("device"), str):
        return ""

    def count(key: str) -> int | None:
        value = found.get(key)
        return (
            value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
        )

    threads, processes = count("threads"), count("processes")
    detail = [str(found["gpu"])] if isinstance(found.get("gpu"), str) else []
    detail += [f"{threads} CPU thread{'s' * (threads != 1)}"] if threads else []
    detail += [f"{processes} processes"] if processes and processes > 1 else []
    return f" on {found['device']}" + (f" ({', '.join(detail)})" if detail else "")
