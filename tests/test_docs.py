"""The documentation's examples run, its API reference is complete and its R table names real API.

Every page of ``docs/`` is run as the site build runs it (``docs/_ext/docexec.py``): its
``python`` blocks in order in one namespace, its ``sh`` blocks as ``python -m mixedmodels``
commands, in a temporary directory.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

import mixedmodels as mm
from mixedmodels import plotting

DOCS = Path(__file__).resolve().parent.parent / "docs"
pytestmark = pytest.mark.skipif(not DOCS.is_dir(), reason="the docs folder is not in this checkout")


def _docexec():
    spec = importlib.util.spec_from_file_location("docexec", DOCS / "_ext" / "docexec.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("docexec", module)
    spec.loader.exec_module(module)
    return module


docexec = _docexec() if DOCS.is_dir() else None
PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md") if "_build" not in p.parts)
SLOW = {
    "getting-started.md",
    "howto/bootstrap-at-scale.md",
    "howto/cli.md",
    "howto/large-data.md",
    "howto/many-and-power.md",
}


@pytest.mark.parametrize("page", [pytest.param(p, marks=pytest.mark.slow) if p in SLOW else p for p in PAGES])
def test_page_examples_run(page, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    text = (DOCS / page).read_text(encoding="utf-8")
    outputs = docexec.run_page(DOCS / page, tmp_path)
    assert len(outputs) == len(docexec.blocks(text))
    # every figure a page shows is one its examples made
    for name in re.findall(r"\]\(/_generated/([^)]+)\)", text):
        assert (tmp_path / name).is_file(), f"{page} shows {name}, which no example of it saves"
    # the numbers its prose quotes are the ones its code prints
    printed = "\n".join(outputs)
    for number in QUOTED.get(page, ()):
        assert number in printed, f"{page} quotes {number}, which its examples no longer print"


# numbers the prose of a page quotes, as its examples print them
QUOTED = {
    "getting-started.md": (
        *("21.040772", "1.921111", "0.055888", "-1.007014", "6.07251", "36.87543"),
        *("1.915452", "0.055868", "0.009942"),
    ),
    "howto/checking-models.md": ("[8, 57, 60, 131]", "1.14 ", "0.032", "dispersion = 3.2118", "2.70"),
    "howto/singular.md": ("2.08",),
    "howto/overdispersed-counts.md": ("ratio 2.19", "-815.6397", "-815.6785", "1.0026", "1645.5"),
    "howto/zero-inflation.md": (
        *("-810.1713", "11.014", "0.138", "1663.4", "1666.3", "-819.8076"),
        *("-599.5638", "1.86408", "1.04027", "0.0790", "1.2455", "LRT 46.10"),
    ),
    "howto/covariance-structures.md": (
        *("0.9516", "0.62 ", "-438.26", "0.414665", "54.535", "11.396", "-876.00"),
    ),
    "coming-from-r.md": (
        *("'gb'", "C(p, contr.sum)1", "'p1'", "factor(k)2", "did you mean reml="),
        'relevel(g, "c")a',
    ),
}


def test_runnable_blocks_are_found():
    text = (
        "a\n\n```python\nx = 1\nprint(x)\n```\n\n```bash\npip install .\n```\n\n"
        "  ```sh\n  mixedmodels --help\n  ```\n"
    )
    found = docexec.blocks(text)
    assert [b.lang for b in found] == ["python", "sh"]
    assert found[1].code == "mixedmodels --help\n"
    assert docexec.with_outputs(text, ["1\n", ""]).count("{code-block} text") == 1


def test_a_failing_example_names_its_page_and_line(tmp_path):
    page = tmp_path / "bad.md"
    page.write_text("# Bad\n\n```python\nx = 1\n```\n\n```python\n1 / 0\n```\n", encoding="utf-8")
    with pytest.raises(docexec.ExampleError, match="bad.md:7"):
        docexec.run_page(page, tmp_path / "work")


def test_api_reference_documents_every_public_name():
    api = (DOCS / "api.rst").read_text(encoding="utf-8")
    documented = set(re.findall(r"^\.\. auto(?:function|class|data|exception):: (\S+)", api, re.M))
    missing = [name for name in mm.__all__ if name not in documented]
    assert not missing, f"add to docs/api.rst: {missing}"


# ------------------------------------------------------------------------- translation table
OBJECTS = {
    "mm": [mm],
    "fit": [mm.LmerFit],
    "g": [mm.GlmerFit],
    "ols": [mm.LmFit],
    "gl": [mm.GlmFit],
    "boot": [mm.BootstrapResult],
    "emm": [mm.Emmeans],
    "many": [mm.ManyResult],
    "plotting": [plotting],
}


def _table_rows() -> list[list[str]]:
    rows = []
    for line in (DOCS / "coming-from-r.md").read_text(encoding="utf-8").splitlines():
        if not line.startswith("| `"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        rows.append(cells)
    return rows


def _has(objects, name: str) -> bool:
    import dataclasses

    for obj in objects:
        if hasattr(obj, name):
            return True
        if dataclasses.is_dataclass(obj) and name in {f.name for f in dataclasses.fields(obj)}:
            return True
    return False


def test_translation_table_has_forty_rows():
    rows = _table_rows()
    assert len(rows) >= 40, len(rows)
    assert all(len(r) == 3 for r in rows), [r for r in rows if len(r) != 3]


def test_translation_table_names_exist():
    from mixedmodels.profile.lmm import ProfileResult

    objects = dict(OBJECTS, prof=[ProfileResult])
    missing = []
    checked = 0
    for r_side, ours, _ in _table_rows():
        for code in re.findall(r"`([^`]+)`", ours):
            for prefix, name in re.findall(r"\b([a-z]+)\.([A-Za-z_]\w*)", code):
                checked += prefix in objects
                if prefix in objects and not _has(objects[prefix], name):
                    missing.append(f"{prefix}.{name} (row {r_side})")
    assert not missing, missing
    assert checked >= 60


def test_translation_table_keyword_arguments_exist():
    """``name=`` in the second column is a parameter of the function or method it follows."""
    import inspect

    from mixedmodels.profile.lmm import ProfileResult

    objects = dict(OBJECTS, prof=[ProfileResult])
    unknown = []
    for r_side, ours, _ in _table_rows():
        for code in re.findall(r"`([^`]+)`", ours):
            call = re.match(r"([a-z]+)\.(\w+)\((.*)\)$", code)
            if not call or call.group(1) not in objects:
                continue
            funcs = [getattr(o, call.group(2)) for o in objects[call.group(1)] if hasattr(o, call.group(2))]
            params = {p for f in funcs for p in inspect.signature(f).parameters}
            for keyword in re.findall(r"\b([a-z_]+)=", call.group(3)):
                if keyword not in params:
                    unknown.append(f"{code}: {keyword}= (row {r_side})")
    assert not unknown, unknown
