"""HTML pieces shared by the study report and its model card: escaping, images, tables."""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path

import pandas as pd

from thermocad.utils.tables import fmt_ci  # noqa: F401 - re-exported for the report modules

# Every section the report always contains (an absent input says so inside its section).
SECTIONS = {
    "disclaimer": "Clinical disclaimer",
    "nested": "Result: nested cross-validation (women this run's choices did not see)",
    "cohort": "Cohort",
    "split": "Data partitions",
    "training": "Training",
    "comparison": "Model selection: architecture comparison (validation, optimistic)",
    "test": "Final test of the selected model",
    "calibration": "Calibration",
    "subgroups": "Subgroups and shortcut audit",
    "galleries": "Galleries",
    "gradcam": "Grad-CAM explanations",
    "model-card": "Model card",
    "glossary": "Glossary",
}
NO_NESTED = "Result: no nested cross-validation was run"  # the "nested" section's title then
DISCLAIMER = (
    "Research software. Breast thermography is cleared only as an adjunct to mammography; it is "
    "not a stand-alone screening or diagnostic test (US FDA safety communications 2011, 2019). "
    "Nothing in this report is a diagnosis."
)
CSS = (Path(__file__).parent / "assets" / "report.css").read_text(encoding="utf-8")


def read_json(path: Path) -> dict | None:
    """A study file the report reads (best.json, metrics.json, ...): None when absent, one
    line naming it when it cannot be read (a run killed while writing it, an edit gone wrong)."""
    import json

    from thermocad.utils.errors import ThermocadError

    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ThermocadError(f"{path}: cannot be read as JSON ({exc}); rerun the step that "
                             "writes it") from exc  # fmt: skip


def esc(value) -> str:
    return html.escape(str(value))


def prose(value) -> str:
    """`esc`, with `command` spans (the markdown the same words are written in for the model
    card's README) set as <code>."""
    import re

    return re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(value))


def img(path: str | os.PathLike | None, alt: str, width: int | None = None,
        wide: bool = False, caption: str | None = None, rows: int = 1) -> str:  # fmt: skip
    """An <img> with the figure embedded as base64 (PNG, or WebP over PNG_AS_IS_BYTES), or a
    note when the file is missing. `wide`:
    panels side by side (`rows` of them), which a phone shows at a readable size to scroll
    across; `caption`: what the eye reads under it, when shorter than `alt` (what the image
    shows, said in full)."""
    caption = alt if caption is None else caption
    if not path or not Path(path).exists():
        return f'<p class="missing">{esc(caption)}: not available</p>'
    mime, data = _embedded(Path(path).read_bytes())
    style = f' style="max-width:min({width}px,100%)"' if width else ""
    # A region that may scroll sideways is named and reachable by the keyboard (tabindex), as
    # a browser that does not focus scrolling boxes itself needs.
    tall = f' style="--phone-height:{300 * rows}px"' if rows > 1 else ""
    kind = (f' class="wide"{tall} tabindex="0" role="region" aria-label="{esc(caption)}"'
            if wide else "")  # fmt: skip
    # The caption says the alt text (or its title) for the eye; hidden from screen readers.
    return f'<figure{kind}><img src="data:{mime};base64,{data}" alt="{esc(alt)}"{style}><figcaption aria-hidden="true">{esc(caption)}</figcaption></figure>'


# A figure's PNG up to this size is embedded as it is (plots: lines and type, lossless). A
# larger one holds thermograms (galleries, Grad-CAM): WebP at quality 90 embeds it in about a
# fifth of the bytes (docs/benchmarks.md). The galleries' lossless PNGs stay in the study
# folder; the Grad-CAM figures are drawn for the page alone. Without WebP in Pillow: PNG.
PNG_AS_IS_BYTES = 100_000


def _embedded(png: bytes) -> tuple[str, str]:
    """A figure's MIME type and base64 text for a data: URL (PNG_AS_IS_BYTES above)."""
    if len(png) > PNG_AS_IS_BYTES:
        import io

        from PIL import Image, features

        if features.check("webp"):
            buffer = io.BytesIO()
            with Image.open(io.BytesIO(png)) as image:
                image.save(buffer, format="WEBP", quality=90, method=4)
            png = buffer.getvalue()
            return "image/webp", base64.b64encode(png).decode("ascii")
    return "image/png", base64.b64encode(png).decode("ascii")


def page_footer(text: str) -> str:
    """A printed page's footer on every page: `text` (the report's title, version and date) at
    the left, the page number at the right, so that a loose page says what it belongs to (CSS
    margin boxes: Chromium 131+; other browsers print their own header and footer)."""
    quoted = "".join(c if c.isalnum() or c in " .,:;-_()" else f"\\{ord(c):x} " for c in text)
    box = "font: 8pt system-ui, sans-serif; color: #555;"
    return (f'<style>@media print {{ @page {{ margin: 15mm 12mm 16mm; @bottom-left {{ content: '
            f'"{quoted}"; {box} }} @bottom-right {{ content: "page " counter(page) " of " '
            f"counter(pages); {box} }} }} }}</style>")  # fmt: skip


def table(df: pd.DataFrame, floats: str = "{:.3f}") -> str:
    """A DataFrame as an HTML table: floats rounded, whole-number columns shown as integers."""
    fmt = {}
    for c in df.columns:
        if pd.api.types.is_float_dtype(df[c]):
            whole = df[c].dropna().mod(1).eq(0).all() and df[c].notna().any()
            fmt[c] = (lambda v: f"{int(v):,}") if whole else floats.format
    text = df.to_html(index=False, na_rep="n/a", formatters=fmt, border=0, classes="t")
    return keep_intervals(scrolls(text))


def scrolls(table_html: str) -> str:
    """A table of class `t`, which scrolls sideways where it is wider than the page
    (report.css), made reachable by the keyboard (focusable), as a browser that does not focus
    scrolling boxes itself needs."""
    return _TABLE_T.sub(r'\g<0> tabindex="0"', table_html, count=1)


_TABLE_T = re.compile(r'<table class="(?:[^"]* )?t(?: [^"]*)?"')


def keep_intervals(text: str) -> str:
    """Each "0.911 (0.822-0.977)" in `text` with its interval kept whole, smaller, after its
    value: a narrow cell breaks only before it."""
    return _INTERVAL.sub(r'\1 <span class="ci">(\2)</span>', text)


_INTERVAL = re.compile(r"(\d) \((-?\d[\d.]*[-–]-?\d[\d.]*)\)")


def with_interval(m: dict, key: str) -> str:
    """A figure of a metrics summary (evaluation.bootstrap.summarize) with its bootstrap interval:
    '1.020 (0.800-1.300)', or the value and why it has none."""
    shown = fmt_ci(m.get(key), (m.get("bootstrap_ci") or {}).get(key))
    why = (m.get("bootstrap_ci_reasons") or {}).get(key)
    return shown + f" (no interval: {why})" if why and shown != "n/a" else shown


def section(key: str, body: str, title: str | None = None) -> str:
    """A section of SECTIONS, under its title (or `title`, which the nav must then use too)."""
    return f'<section id="{key}"><h2>{esc(title or SECTIONS[key])}</h2>\n{body}\n</section>'


# The comparison table's columns as a reader names them (comparison.csv keeps the short names).
HEADERS = {"tn": "TN", "fp": "FP", "fn": "FN", "tp": "TP", "roc_auc": "image AUC",
           "patient_roc_auc": "patient AUC", "train_time_s": "training (s)"}  # fmt: skip
METRIC_NAMES = {"ppv": "PPV (precision)", "npv": "NPV", "balanced_accuracy": "balanced accuracy",
                "f1": "F1", "roc_auc": "ROC AUC", "brier": "Brier score", "pr_auc": "PR AUC",
                "calibration_intercept": "calibration intercept",
                "calibration_slope": "calibration slope"}  # fmt: skip
