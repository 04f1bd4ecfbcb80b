"""Installed size of thermocad's core and of each extra, measured in the current environment.

    .venv/bin/python benchmarks/extras_size.py

For each role: the distributions it pulls in (pyproject.toml's requirements, followed
transitively through the installed packages' metadata) minus what the core already brings;
size = the sum of the files each distribution's RECORD lists (what `du` of its
site-packages folders gives, without __pycache__ written after installation).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROLES = ("train", "explain", "app", "export", "fast", "dev")
PROJECT = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def closure(requirements: list[str], extras: set[str]) -> set[str]:
    """Installed distributions reachable from `requirements` (markers evaluated)."""
    seen: set[str] = set()
    todo = [(Requirement(r), extras) for r in requirements]
    while todo:
        req, active = todo.pop()
        envs = [{"extra": e} for e in active] or [{"extra": ""}]
        if req.marker and not any(req.marker.evaluate(env) for env in envs):
            continue
        name = _name(req.name)
        if name == "thermocad":  # thermocad[train] inside another extra
            for sub in req.extras:
                todo += [(Requirement(r), {sub}) for r in _requires(sub)]
            continue
        if name in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            continue
        seen.add(name)
        todo += [(Requirement(r), set(req.extras)) for r in dist.requires or []]
    return seen


def _requires(extra: str | None = None) -> list[str]:
    """pyproject.toml's core requirements, or those of one extra."""
    if extra is None:
        return PROJECT["project"]["dependencies"]
    return PROJECT["project"]["optional-dependencies"][extra]


def size_mb(names: set[str]) -> float:
    total = 0
    for name in names:
        for f in md.distribution(name).files or []:
            path = f.locate()
            if "__pycache__" not in str(f) and path.is_file():
                total += path.stat().st_size
    return total / 1e6


def main() -> None:
    argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] + " Prints a markdown table; no options."
    ).parse_args()
    core = closure(_requires(), set())
    print("| install | adds | size (MB) |\n|---|---|---|")
    print(f"| core | {len(core)} distributions | {size_mb(core):.0f} |")
    for role in ROLES:
        extra = closure(_requires(role), set()) - core
        beyond = ""
        if role in ("explain", "export"):  # they include [train]: say what they add to it
            more = extra - closure(_requires("train"), set())
            beyond = (
                f"; beyond [train]: {len(more)}, {size_mb(more):.0f} MB ({', '.join(sorted(more))})"
            )
        if role == "train":  # the share of PyTorch with its CUDA libraries and triton
            torch_like = {n for n in extra if n in ("torch", "triton") or n.startswith("nvidia-")}
            beyond = f"; of it torch, triton and nvidia-*: {size_mb(torch_like):.0f} MB"
        top = sorted(extra, key=lambda n: -size_mb({n}))[:4]
        print(f"| [{role}] | {len(extra)} distributions, largest: {', '.join(top)}{beyond} "
              f"| {size_mb(extra):.0f} |")  # fmt: skip
    everything = closure(_requires("all"), set()) - core
    print(f"| [all] | {len(everything)} distributions | {size_mb(everything):.0f} |")


if __name__ == "__main__":
    main()
