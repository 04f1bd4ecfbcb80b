"""The web app's verdict box: the call, no call or an error in large type, with the few words
that qualify it (the Result line has them whole)."""

from __future__ import annotations

# The verdict's kinds: border and heading colour, a sign, the words. Never colour alone: the
# words say it, and the sign differs. The box has its own white ground, on which each colour
# has a contrast of at least 4.9:1, in the page's dark mode as in its light one.
_VERDICTS = {
    "sick": ("#c62828", "\u25b2", "Called Sick"),
    "healthy": ("#2e7d32", "\u25cf", "Called Healthy"),
    "none": ("#8a6d00", "\u2298", "No call"),
    "error": ("#d32f2f", "\u2715", "Not analysed"),
}


NOT_A_DIAGNOSIS = "Research software: a score, not a diagnosis."


def verdict(kind: str, detail: str, small: str | list[str] = "", warning: str = "") -> str:
    """The call in large type, with one line of detail, an optional warning in bold (a model
    that makes no result: the header, which says so, scrolls away on a phone) and optional
    smaller lines, each on its own (`small`: one or a list): HTML, the upload's name escaped.
    role=status so that a screen reader announces it."""
    import html

    colour, sign, words = _VERDICTS[kind]
    # Each line's colour is set on it: a dark theme colours the page's text light, line by line.
    lines = [small] if isinstance(small, str) else small
    if kind != "error":  # said where the call is read (a clinical reading: the page's header,
        # which says it, scrolls away on a phone)
        lines = [*lines, NOT_A_DIAGNOSIS]
    small = "".join(f'<div style="font-size:0.95em;color:#444">{html.escape(line)}</div>'
                    for line in lines if line)  # fmt: skip
    small = (
        f'<div style="font-weight:700;color:#222">{html.escape(warning)}</div>' if warning else ""
    ) + small
    border = "dashed" if kind == "error" else "solid"  # an error is not a result
    # overflow-wrap: a long file name breaks inside the box instead of running out of it.
    return (f'<div role="status" aria-live="polite" class="verdict verdict-{kind}" style="border:3px '
            f'{border} {colour};border-radius:8px;padding:0.5em 0.8em;margin:0.3em 0;'
            'background:#fff;color:#222;overflow-wrap:anywhere">'
            f'<div style="font-size:1.7em;font-weight:700;color:{colour}">'
            f'<span aria-hidden="true" style="color:{colour}">{sign}</span> {words}</div>'
            f'<div style="color:#222">{html.escape(detail)}</div>{small}</div>')  # fmt: skip


def waiting(text: str) -> str:
    """The verdict's place before a file's call comes: a plain box of about a call's height, so
    that the page does not jump when the call comes (`text` is escaped: it may name a file)."""
    import html

    return ('<div class="verdict-waiting" style="border:3px dotted #bbb;border-radius:8px;'
            "padding:0.5em 0.8em;margin:0.3em 0;min-height:7em;box-sizing:border-box;"
            f'display:flex;align-items:center;overflow-wrap:anywhere">{html.escape(text)}</div>')  # fmt: skip


WAITING = waiting("Choose a thermogram, or an example at the foot of the page: its call is "
                  "shown here.")  # fmt: skip


def _headlines(training: str, notes: dict[str, str]) -> list[str]:
    """The notes that qualify a call (`training_note`'s and `input_notes`'), each in a few words
    for the verdict (the Result has them whole)."""
    sharp = notes.get("sharpness", "")
    noisy = sharp.startswith("the image is sharper")  # sharpness_note's other end
    heads = [_training_head(training),
             "Imaged in a room outside the training women's range: read with care."
             if notes.get("room") else "",
             "Skin warmer or cooler than any training woman's: read with care."
             if notes.get("skin") else "",
             "A frame size no training file had." if notes.get("shape") else "",
             "Upside down? Read with care." if notes.get("orientation") else "",
             "The body was found in pieces: read with care." if notes.get("pieces") else "",
             f"{'Sharper or noisier' if noisy else 'Less sharp'} than any training image: "
             "read with care." if sharp else "",
             "Exported differently from the training images: read with care."
             if notes.get("export") else ""]  # fmt: skip
    return [h for h in heads if h] + (["Details in Result."] if any(heads) else [])


def _training_head(training: str) -> str:
    """'' or training_note's words in a few, for a real woman's number (hers: no test result)."""
    trained = training and "synthetic woman" not in training
    return f"Not a test result: {training.split(' (')[0]}." if trained else ""


def _view_line(name: str) -> str:
    """What the file name says of the view (the model reads frontal views only)."""
    from thermocad.io.filenames import name_view

    if getattr(name_view(name), "view", "unknown") == "frontal":
        return "View: frontal, as the DMR-IR file name says."
    return "View not checked (the file name does not give it): the model reads frontal views only."


def call_box(bundle, name: str, prob: float, void: str, training: str,
             found: dict[str, str], parts=(None, None), example: str = "") -> str:  # fmt: skip
    """The verdict for one analysed file: the call or no call (`void`), with the notes that
    qualify it and what kind of model made it; `parts`: the CNN's and the baseline's P(Sick);
    `example`: a synthetic example's label ("synthetic #1, generated Sick"), said with whether
    the call matches the generator's truth."""
    from thermocad.inference.claims import half, not_above_chance
    from thermocad.inference.notes import called, deciding_half, shown
    from thermocad.models.words import table_warning

    p, t = shown(prob, bundle.threshold)
    # A smoke run, synthetic women, ...: said in the box, in the words of predict's tables.
    demo = table_warning(bundle.meta, "the page's header") or ""
    if (made := called(prob, bundle.threshold, not void)) is None:
        return verdict("none", f"{name}: {void}.", f"P(Sick) {p} shown only for completeness.",
                       demo)  # fmt: skip
    heads = _headlines(training, found)
    if own := _training_head(training):  # in bold, under the call: not in the small line
        heads.remove(own)
        demo = " ".join(x for x in (own, demo) if x)
    # (an example is a synthetic frontal view: its name, T9001.txt, does not say so); each
    # qualification on a line of its own, to be read one by one
    small = heads or ["View: frontal (a synthetic example)." if example else _view_line(name)]
    if parts[0] is not None and (whose := deciding_half(bundle.threshold, *parts, made)):
        chance = (", a half not shown better than chance where the date cannot tell"
                  * not_above_chance(half(bundle.meta, whose)))  # fmt: skip
        small = [f"The two halves disagree: this call is the {whose}'s alone{chance}.", *small]
    if truth := example.rpartition("generated ")[2] if "generated " in example else "":
        small = [f"Example {example}: {'as generated' if made == truth else 'a miss'}.", *small]
    side = "at or above" if made == "Sick" else "below"
    return verdict(made.lower(), f"{name}: P(Sick) {p}, {side} the threshold {t}.", small, demo)
