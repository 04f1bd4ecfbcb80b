"""CLI: subcommands of the 'evaluate' group (handlers import the library lazily)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this group's subcommands to the `thermocad` parser."""
