"""The seam between the families and the fits: outside the ``families`` subpackage no module tests a
family's or a link's name; it asks the family object (a method or an attribute), so that a new
family is a new class and nothing else changes (``tests/test_toy_family.py``)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "mixedmodels"
OWNERS = PACKAGE / "families"  # where a family is defined and a user's string becomes one

# a comparison of a name: ``x.name == ...``, ``... != y.name``, ``x.name in (...)``, a tuple of
# names compared, or a variable holding a family's or link's name compared with a string
NAME_COMPARISONS = [
    re.compile(r"\.name\s*(?:==|!=)"),
    re.compile(r"(?:==|!=)\s*[\w.\[\]]*\.name\b"),
    re.compile(r"\.name\s+(?:not\s+)?in\b"),
    re.compile(r"\(\s*[\w.]*\.name\s*,\s*[\w.]*\.name\s*\)"),
    re.compile(r"\b\w*(?:family|fam|link)\w*\s*(?:==|!=)\s*[\"']"),
    re.compile(r"[\"']\s*(?:==|!=)\s*\w*(?:family|fam|link)\w*\b"),
    re.compile(r"\b\w*(?:family|fam)_?name\b"),
]

# argument parsing: a user's string checked before it becomes a Family (module, text of the line)
ALLOWED: dict[str, tuple[str, ...]] = {}


def _offences(text: str, module: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        code = line.split("#", 1)[0]
        if any(p.search(code) for p in NAME_COMPARISONS) and not any(
            allowed in line for allowed in ALLOWED.get(module, ())
        ):
            found.append(f"{module}:{number}: {line.strip()}")
    return found


def test_no_module_tests_a_family_or_link_name():
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if OWNERS not in path.parents:
            offences += _offences(path.read_text(), str(path.relative_to(PACKAGE)))
    assert not offences, "ask the family object instead:\n" + "\n".join(offences)


@pytest.mark.parametrize(
    "line",
    [
        'if fam.name == "binomial":',
        'if self.fam.name in ("binomial", "poisson"):',
        'if (fam.name, fam.link.name) == ("poisson", "identity"):',
        'if fam.link.name == "sqrt":',
        'return family == "binomial" or (family == "poisson" and link == "log")',
        "binomial = family_name in BINOMIAL",
        'if "poisson" != model.fam.name:',
    ],
)
def test_the_patterns_catch_name_tests(line):
    assert _offences(line, "example.py")


@pytest.mark.parametrize(
    "line",
    [
        'lines = [f" Family: {fit.family.name}  ( {fit.link} )"]',
        '"family": self.family.name,',
        "if fam.canonical:",
        "kind = fit.family.mean_name",
    ],
)
def test_the_patterns_let_other_uses_pass(line):
    assert not _offences(line, "example.py")
