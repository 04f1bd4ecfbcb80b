"""The terms a run's weights carry, for its model card: their training data's (DMR-IR's named,
with the citation its terms ask for) and the licence of the weights they started from."""

from __future__ import annotations

from thermocad.models.words import synthetic_training, training_data, weights_terms

DATA_TERMS = (
    "These weights were learnt from the training thermograms, so sharing them is subject "
    "to those data's terms of use{dmr}, not only to thermocad's MIT licence."
)
DMR_TERMS = " (DMR-IR's: research use, by registration with its owners; cite Silva et al. 2014)"


def data_terms(meta: dict) -> list[str]:
    """The card's paragraph on the weights' terms (none for synthetic women's weights that
    started from random ones), and the blank line after it."""
    dmr = DMR_TERMS if "DMR-IR" in training_data(meta) else ""
    own = synthetic_training(meta) == "synthetic"
    said = [*([] if own else [DATA_TERMS.format(dmr=dmr)]), *filter(None, [weights_terms(meta)])]
    return [" ".join(said), ""] if said else []
