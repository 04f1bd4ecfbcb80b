"""The report's glossary: the words its tables use, each in a sentence or two, for a reader who
is not a statistician (a clinician, a reviewer). Each definition says what thermocad computes,
so it is checked against the code it names (tests/test_glossary.py)."""

from __future__ import annotations

from thermocad.reporting.html import esc

# (term, definition); in the order a reader meets them in the report.
TERMS: tuple[tuple[str, str], ...] = (
    (
        "P(Sick)",
        "The model's score for Sick, from 0 to 1: a score to rank women by and compare with the "
        "threshold, not a calibrated probability of cancer (the calibration section says how "
        "far it is from one). A woman with several thermograms gets the mean over her images.",
    ),
    (
        "Threshold",
        "The P(Sick) at or above which a woman is called Sick. It is chosen on "
        "validation women, never on the women it is tested on: by default the highest threshold "
        "that still calls at least 90% of the Sick women Sick (sensitivity 0.90).",
    ),
    (
        "Sensitivity",
        "Of the Sick women, the share called Sick (true positive rate). A missed "
        "Sick woman is a false negative.",
    ),
    (
        "Specificity",
        "Of the Healthy women, the share called Healthy (true negative rate). A "
        "Healthy woman called Sick is a false alarm (false positive).",
    ),
    (
        "PPV, NPV",
        "Of the women called Sick, the share who are Sick (PPV); of those called "
        "Healthy, the share who are Healthy (NPV). Both depend on how many women in the set are "
        "Sick, which here is far more than among women screened in a clinic.",
    ),
    (
        "AUC",
        "Area under the ROC curve: the chance that a Sick woman gets a higher P(Sick) than a "
        "Healthy woman (ties count half), computed per woman unless a column says image AUC "
        "(per image). 0.5 is chance, 1 is perfect. It does not depend on the threshold.",
    ),
    (
        "95% interval",
        "The range the figure would plausibly take on other women like these. For the shares "
        "of women (sensitivity, specificity, accuracy, PPV, NPV): Wilson's interval for a "
        "proportion. For AUC and the other figures (and rates over images, where a woman's "
        "images are not independent): a bootstrap over women, redrawing as many Sick and as "
        "many Healthy women with replacement (RESAMPLES) and keeping the middle 95% (for the "
        "AUC, the middle 95% corrected for the redraws' bias and skew: the BCa interval, which "
        "in simulation with 120 and with 31 women, one score each, and 1000 redraws, held the "
        "true AUC 93.6-96.2% of the time, experiments/records/auc_interval_bca.md; a study run "
        "before 2026-12-06 "
        "has the plain middle 95% there too); as the redraw keeps the share of Sick "
        "women, the image rates' intervals of accuracy, PPV and NPV leave out a change of that "
        "share. Wide intervals mean few women, not a bad model.",
    ),
    (
        "Batch A, batch B",
        "The acquisition batches of the data (in DMR-IR, batch A holds Healthy and Sick women "
        "imaged in the same years, batch B only Sick women imaged years later). Figures within "
        "one batch cannot be helped by telling the batches apart.",
    ),
    (
        "Period-matched",
        "The women of a batch imaged inside the dates where both classes were "
        "imaged in that batch. In DMR-IR the acquisition date alone tells Sick from Healthy "
        "outside those dates, so this column is the hardest and the most honest: read it first.",
    ),
    (
        "Nested cross-validation",
        "The women are split into outer folds. For each, every "
        "choice (architecture, threshold) is made on the other women alone, using inner folds "
        "among them, and the result is scored on the outer fold's women, which no choice has "
        "seen. It estimates how the whole procedure does on new women from the same source as "
        "these: internal validation, in TRIPOD's terms. Where the procedure's own defaults were "
        "chosen on these women (thermocad's, on DMR-IR's 120), it is optimistic too.",
    ),
    (
        "Validation, test women",
        "Validation women are used to choose (models, threshold), so "
        "figures on them are optimistic. Test women are held out and scored once at the end.",
    ),
    (
        "Split by patient",
        "All images of a woman are in the same part of every split, so the "
        "model is never scored on a woman it was trained on.",
    ),
    (
        "Classical baseline",
        "A logistic regression on a few temperature statistics of the two "
        "breasts (e.g. their left-right difference), with no CNN: the yardstick the CNN must beat.",
    ),
    (
        "Asymmetry map",
        "The default CNN's input: the chest's temperatures minus their mirror image about the "
        "body's midline, where both sides are skin (0 elsewhere): one channel of left-right "
        "differences.",
    ),
    (
        "TTA",
        "Test-time augmentation: P(Sick) averaged over several slightly moved copies of "
        "each image (the 2019 study's recipe).",
    ),
    (
        "Calibration",
        "Whether P(Sick) means what it says: of women given 0.3, about 30% Sick. "
        "Intercept 0 and slope 1 are perfect; a slope below 1 means over-confident. The Brier "
        "score is the mean squared difference between P(Sick) and the truth (0 is perfect).",
    ),
    (
        "Confound, shortcut",
        "A quantity that tells the classes apart without being about the "
        "breasts (date, batch, patient number, calibration marker, room temperature). A model "
        "can learn it instead of disease; the audit gives each one's AUC alone.",
    ),
    (
        "Grad-CAM",
        "A heat map of the image regions that raised the CNN's P(Sick). It shows "
        "where the network looked, not where a tumour is.",
    ),
)


BY_IMAGE = (
    "Split by image (this report)",
    "The 2019 study's protocol, asked for with --unit image: a woman's images may be on both "
    "sides of a split, so a model can be scored on a woman it was trained on, and its figures "
    "are optimistic.",
)


def glossary_html(n_boot: int | None = None, by_image: bool = False) -> str:
    """The glossary as a definition list; `n_boot`: the resamples the report's intervals drew
    (None: the default is said); `by_image`: the split put women on both sides (BY_IMAGE)."""
    drawn = ("1000 times by default" if n_boot is None else f"{n_boot} times in this report"
             if n_boot else "none drawn in this report (n_boot 0), whose bootstrap intervals "
             "are n/a")  # fmt: skip
    terms = [BY_IMAGE if by_image and term == "Split by patient" else (term, text)
             for term, text in TERMS]  # fmt: skip
    rows = "".join(f"<dt>{esc(term)}</dt><dd>{esc(text.replace('RESAMPLES', drawn))}</dd>"
                   for term, text in terms)  # fmt: skip
    return f'<dl class="glossary">{rows}</dl>'
