"""``import mixedmodels`` and ``mixedmodels --help`` start without the numerical libraries: the
package resolves its public names on first access (PEP 562) and the command line imports the
models inside its commands. These tests check what is imported, not how long it takes
(``benchmarks/import_times.py`` times it)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mixedmodels as mm

HEAVY = ("numpy", "pandas", "scipy", "matplotlib", "formulaic", "nlopt")
INIT = Path(mm.__file__)


def _imported(*arguments: str) -> set[str]:
    """The top-level packages a fresh interpreter imports running ``arguments`` (from ``-X importtime``)."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(INIT.parents[1]), os.environ.get("PYTHONPATH")])),
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *arguments], env=env, capture_output=True, text=True, check=True
    )
    lines = [
        line.split("|")[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")
    ]
    return {name.split(".")[0] for name in lines[1:]}  # the first line is the header


@pytest.mark.parametrize(
    "arguments",
    [
        ["-m", "mixedmodels", "--help"],
        ["-m", "mixedmodels", "fit", "--help"],
        ["-m", "mixedmodels", "many", "--help"],
        ["-c", "import mixedmodels"],
    ],
    ids=["help", "fit-help", "many-help", "import"],
)
def test_startup_imports_no_numerical_library(arguments):
    assert sorted(_imported(*arguments) & set(HEAVY)) == []


def test_the_check_sees_an_import():
    """The parse of ``-X importtime`` finds numpy when a public model function is used."""
    assert {"numpy", "pandas"} <= _imported("-c", "import mixedmodels as mm; mm.lmer")


def test_every_public_name_resolves_to_its_module_object():
    for name in mm.__all__:
        value = getattr(mm, name)
        module = __import__(f"mixedmodels.{mm._LOCATIONS[name]}", fromlist=[name])
        assert value is getattr(module, name), name
    assert set(mm.__all__) <= set(dir(mm))


def test_from_import_and_an_unknown_name():
    from mixedmodels import LmerFit, lmer, options

    assert lmer.__module__ == "mixedmodels.lmm.lmer" and LmerFit.__name__ == "LmerFit"
    assert options is mm.options
    with pytest.raises(AttributeError, match="has no attribute 'lmerr'"):
        mm.lmerr  # noqa: B018
    with pytest.raises(ImportError):
        from mixedmodels import lmerr  # noqa: F401


def _type_checking_imports() -> dict[str, str]:
    """``name -> module`` of the imports under ``if TYPE_CHECKING:`` in ``__init__.py``; and no
    import of the package's modules outside that block (an eager import would undo the laziness)."""
    found = {}
    for node in ast.parse(INIT.read_text()).body:
        assert not (isinstance(node, ast.ImportFrom) and node.level), "eager import in __init__.py"
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            for inner in node.body:
                assert isinstance(inner, ast.ImportFrom) and inner.level == 1 and inner.module
                found.update({alias.name: inner.module for alias in inner.names})
    return found


def test_type_checking_imports_all_and_locations_agree():
    """A public name is added in three places: the typing import, ``__all__`` and ``_LOCATIONS``."""
    assert _type_checking_imports() == mm._LOCATIONS
    assert sorted(mm.__all__, key=str.lower) == sorted(mm._LOCATIONS, key=str.lower)
