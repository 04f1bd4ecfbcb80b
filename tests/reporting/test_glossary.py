"""The report's glossary says what the code does: each checked fact is read from the code."""

import inspect

import numpy as np
import pandas as pd

from thermocad.evaluation import bootstrap, metrics, thresholds
from thermocad.evaluation.intervals import fast_auc
from thermocad.reporting import glossary


def definition(term: str) -> str:
    return dict(glossary.TERMS)[term]


def test_threshold_rule_is_the_code_default():
    assert thresholds.TARGET_SENSITIVITY == 0.90
    assert "90%" in definition("Threshold") and "0.90" in definition("Threshold")


def test_bootstrap_default_replicates_as_stated():
    assert inspect.signature(bootstrap.summarize).parameters["n_boot"].default == 1000
    assert "1000 times by default" in glossary.glossary_html()
    assert "500 times in this report" in glossary.glossary_html(500)  # the study's own count
    assert "none drawn in this report (n_boot 0)" in glossary.glossary_html(0)


def test_the_shares_of_women_get_wilsons_interval_as_stated():
    """The tables label every proportion of women Wilson: the glossary names them all (it had
    said accuracy, PPV and NPV got the bootstrap's)."""
    for name in metrics.PROPORTIONS:
        assert {"ppv": "PPV", "npv": "NPV"}.get(name, name) in definition("95% interval")
    assert "shares of women (sensitivity, specificity, accuracy, PPV, NPV): Wilson" in definition(
        "95% interval"
    )


def test_a_womans_p_sick_is_the_mean_of_her_images():
    df = pd.DataFrame({"patient_id": [1, 1, 2], "y": [1, 1, 0], "prob": [0.2, 0.6, 0.3]})
    out = metrics.aggregate_patients(df).set_index("patient_id")
    assert np.isclose(out.loc[1, "prob"], 0.4)
    assert "mean over her images" in definition("P(Sick)")


def test_auc_ties_count_half_as_stated():
    y, p = np.array([1, 0]), np.array([0.5, 0.5])
    assert fast_auc(y, p) == 0.5
    assert "ties count half" in definition("AUC")


def test_glossary_html_escapes_and_lists_every_term():
    html = glossary.glossary_html()
    assert html.count("<dt>") == len(glossary.TERMS)
    assert "P(Sick)" in html and "<dd>" in html


def test_the_default_input_is_the_one_asymmetry_channel():
    from thermocad.training.config import TrainConfig

    assert TrainConfig().channels == ("asymmetry",)
    assert "one channel of left-right differences" in definition("Asymmetry map")
