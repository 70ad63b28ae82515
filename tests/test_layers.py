"""The house's floors (pyproject.toml, [tool.importlinter]): each package imports only the
floors below it, the runtime never imports training and evaluation (podtwin.lab), and no two
modules of a package import each other in a cycle. import-linter checks the contracts on the
real import graph; a new package must be given its floor."""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp
from importlinter.cli import lint_imports

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def contracts() -> list[dict]:
    return tomllib.loads(PYPROJECT.read_text())["tool"]["importlinter"]["contracts"]


def test_the_import_contracts_are_kept():
    assert {c["type"] for c in contracts()} == {"layers", "forbidden", "acyclic_siblings"}
    assert lint_imports(config_filename=str(PYPROJECT), no_cache=True) == 0  # prints the broken contract if not


def test_every_package_has_a_floor_and_the_runtime_is_every_floor_but_the_top_two():
    (layers,) = [c["layers"] for c in contracts() if c["type"] == "layers"]
    floors = [name.strip() for layer in layers for name in layer.split("|")]
    graph = grimp.build_graph("podtwin")
    top_level = {m for m in graph.modules if m.count(".") == 1}
    assert top_level == set(floors), "give each package of podtwin its floor in pyproject.toml"
    (forbidden,) = [c for c in contracts() if c["type"] == "forbidden"]
    assert forbidden["forbidden_modules"] == ["podtwin.lab"]
    assert set(forbidden["source_modules"]) == set(floors) - {"podtwin.cli", "podtwin.lab"}


def test_an_import_up_a_floor_is_caught(tmp_path):
    # the same contracts over a copy of their own text, with the floors of two packages swapped:
    # the layers contract must then find the imports of one by the other
    text = PYPROJECT.read_text()
    swapped = text.replace('"podtwin.api",\n    "podtwin.twin",', '"podtwin.twin",\n    "podtwin.api",')
    assert swapped != text
    config = tmp_path / "pyproject.toml"
    config.write_text(swapped)
    assert lint_imports(config_filename=str(config), no_cache=True) == 1


def test_no_sql_outside_the_store_and_search():
    """Only store/ and search/ (and lab/, which measures against libraries) talk SQL: every other
    package goes through their functions."""
    import re

    src = PYPROJECT.parent / "src" / "podtwin"
    sql = re.compile(r"\.execute(?:many|script)?\(|\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM)\s+\w")
    offenders = [
        str(path.relative_to(src))
        for path in sorted(src.rglob("*.py"))
        if path.relative_to(src).parts[0] not in ("store", "search", "lab") and sql.search(path.read_text())
    ]
    assert offenders == []
    assert sql.search((src / "store" / "questions.py").read_text())  # the pattern finds SQL where it is
