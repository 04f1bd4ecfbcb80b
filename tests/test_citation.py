"""CITATION.cff says what the package says: its version and licence, and the data to cite."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml  # PyYAML, in the dev extra

from thermocad import __version__

ROOT = Path(__file__).resolve().parents[1]


def test_the_citation_file_matches_the_package():
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert citation["cff-version"] == "1.2.0" and citation["type"] == "software"
    assert str(citation["version"]) == __version__  # bumped with thermocad.__version__
    assert citation["license"] == project["license"] == "MIT"
    # The data's terms ask that DMR-IR be cited in anything built on its files.
    (dmr,) = citation["references"]
    assert dmr["year"] == 2014 and dmr["authors"][0]["family-names"] == "Silva"
    assert "Infrared Image" in dmr["title"]
