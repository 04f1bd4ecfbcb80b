"""Is a thermogram's room among those the model was trained in?

On DMR-IR the models' P(Sick) follows the room temperature (docs/evaluation.md, "Room drift"),
so a thermogram taken in a room colder or warmer than any training woman's gets a score the
training data say little about. model.json keeps the training women's room range
(`data.room_range_c`, written by `train`); `predict` and the web app add a note when a
temperature map's background lies outside it. The score itself is not changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from thermocad.io.thermal import Thermogram


def room_note(meta: dict[str, Any], thermogram: Thermogram) -> str:
    """'' or a note naming the room and the training range (temperature maps only)."""
    from thermocad.preprocess.regions import room_temperature

    span = (meta.get("data") or {}).get("room_range_c")
    if not span or thermogram.unit != "celsius":
        return ""
    room = room_temperature(thermogram.array)
    if room is None or span[0] <= room <= span[1]:
        return ""
    return (f"room {room:.1f} °C (the background) is outside the {span[0]:.1f}-{span[1]:.1f} °C "
            "the model was trained in, and its P(Sick) follows the room: read it with care")  # fmt: skip
