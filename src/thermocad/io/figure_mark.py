"""The mark thermocad's PNG figures carry (render's, explain's, the report's, the app's panels),
so that a figure given back as input is refused by name, not scored as a thermogram (a review
scored render's grey figures, title and colour bar included, 0.94-0.98 Sick)."""

from __future__ import annotations

from collections.abc import Mapping

KEY = "Description"  # a PNG text chunk that matplotlib's savefig writes and PIL's info reads
TEXT = "thermocad figure: a drawing of thermograms or results, not a thermogram"
PNG_METADATA = {KEY: TEXT}  # savefig(..., metadata=PNG_METADATA)


def is_figure(info: Mapping) -> bool:
    """Whether an image's metadata (PIL's `Image.info`) holds thermocad's figure mark."""
    return str(info.get(KEY, "")).startswith("thermocad figure")
