"""What a study folder holds, as the report reads it."""

from __future__ import annotations

import json

from thermocad.reporting.study_files import best_run_dir


def test_the_selected_model_is_a_candidates_folder_never_a_path(tmp_path):
    """best.json names a candidate of the comparison; a crafted one naming another folder had
    the report load (and draw with) a model from anywhere on the disk."""
    for run in (tmp_path / "elsewhere" / "fold0", tmp_path / "study" / "compare" / "m" / "fold0"):
        run.mkdir(parents=True)
        (run / "model.json").write_text("{}")
    compare = tmp_path / "study" / "compare"
    for best, found in ((str(tmp_path / "elsewhere"), None), ("../../elsewhere", None),
                        ("m", compare / "m" / "fold0"), ("baseline", None), (None, None)):  # fmt: skip
        (compare / "best.json").write_text(json.dumps({"best": best}))
        assert best_run_dir(compare) == found, best
