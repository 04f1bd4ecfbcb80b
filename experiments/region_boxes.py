"""The calibration marker's box and the chest box on every frame of a folder, as JSON.

Run it before and after a change to `thermocad.preprocess.regions` and compare the two files:
the frames whose boxes moved are the ones to look at by eye (records/marker_detection.md,
records/chest_box_symmetry.md).

    .venv/bin/python experiments/region_boxes.py ../shared/data/dmr-ir-frontal --out /tmp/boxes.json
    .venv/bin/python experiments/region_boxes.py ../shared/data/dmr-ir-frontal --out /tmp/after.json \
        --compare /tmp/boxes.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from thermocad.io.thermal import read_thermal
from thermocad.preprocess.regions import body_mask, breast_box, find_marker, midline


def boxes(folder: Path) -> dict[str, dict]:
    """Per file: the marker's box (top, bottom, left, right, or None), the chest box and the
    body's midline column."""
    out = {}
    for path in sorted(folder.glob("T*.txt")):
        array = read_thermal(path).array
        mask = body_mask(array)
        marker = find_marker(array, mask)
        chest = breast_box(array, mask)
        out[path.name] = {
            "marker": None
            if marker is None
            else [marker.top, marker.bottom, marker.left, marker.right],
            "chest": [chest.top, chest.bottom, chest.left, chest.right],
            "midline": midline(mask),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--compare", type=Path, help="an earlier run's JSON: print what moved")
    args = parser.parse_args()
    now = boxes(args.folder)
    args.out.write_text(json.dumps(now, indent=1))
    found = sum(b["marker"] is not None for b in now.values())
    print(f"{len(now)} frames, a marker found on {found}")
    if args.compare:
        before = json.loads(args.compare.read_text())
        for name, box in now.items():
            for key in ("marker", "chest"):
                if before.get(name, {}).get(key) != box[key]:
                    print(f"{name} {key}: {before.get(name, {}).get(key)} -> {box[key]}")


if __name__ == "__main__":
    main()
