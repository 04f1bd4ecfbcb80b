"""What scored a file and when, for an auditor reading a result later: the model (its
model.json's or .onnx file's SHA-256, as `sha256sum` gives it), the engine, thermocad's version
and the time, and the file's own bytes (a provenance review: `weights_sha256` left the
baseline and the threshold out, and nothing said when, by what, or which bytes were scored).
predict's rows and /score's carry them as columns, the web page's Result as its last sentence."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from thermocad.inference.onnx import OnnxModel
    from thermocad.models.bundle import ModelBundle


def run_record(bundle: ModelBundle | OnnxModel) -> dict[str, str | None]:
    """The columns that say what scored the files of one run, and when: the same in each row."""
    from datetime import UTC, datetime

    from thermocad.utils.versions import own_version

    # (a model made otherwise, a notebook's own object, has neither: None)
    return {"model_sha256": getattr(bundle, "sha256", None), "engine": getattr(bundle, "engine", None),
            "thermocad_version": own_version(),
            "scored_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip


def content_sha256(path: Path) -> str | None:
    """The SHA-256 of a scored file's bytes (None where it can no longer be read)."""
    from thermocad.models.bundle import file_sha256

    try:
        return file_sha256(path)
    except OSError:
        return None


def audit_text(bundle: ModelBundle | OnnxModel, path: Path) -> str:
    """predict's audit columns for one file, whole, as text (an explain figure's PNG Comment)."""
    run = run_record(bundle)
    return (f"scored_utc={run['scored_utc']} model_sha256={run['model_sha256']} "
            f"engine={run['engine']} thermocad_version={run['thermocad_version']} "
            f"file={Path(path).name} file_sha256={content_sha256(Path(path))}")  # fmt: skip


def scored_line(bundle: ModelBundle | OnnxModel, path: Path) -> str:
    """What scored the file and when, for a page kept as a record (predict's audit columns,
    their digests' first 16 hex digits)."""
    run, digest = run_record(bundle), content_sha256(path) or "unreadable"
    model = (run["model_sha256"] or "unknown")[:16]
    return (
        f"Scored {run['scored_utc']} by the model of sha256 {model}... ({run['engine']}; "
        f"thermocad {run['thermocad_version']}); the file's sha256 {digest[:16]}..."
    )
