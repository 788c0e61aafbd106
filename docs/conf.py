"""Sphinx configuration of the mixedmodels documentation (build: ``sphinx-build -W docs docs/_build``)."""

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent / "src"))  # the checkout's package, installed or not

import mixedmodels  # noqa: E402

project = "mixedmodels"
author = "the mixedmodels authors"
copyright = "the mixedmodels authors, MIT licence"
version = release = mixedmodels.__version__

extensions = [
    "myst_parser",  # the pages are Markdown
    "sphinx.ext.autodoc",  # the API reference from the docstrings
    "sphinx.ext.mathjax",
    "numpydoc",  # the docstrings are numpydoc
    "docexec",  # run every page's examples and show their output (docs/_ext/docexec.py)
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "_generated", "Thumbs.db", ".DS_Store"]
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "furo"
html_title = f"mixedmodels {release}"
html_static_path = ["_static"]
html_css_files = ["extra.css"]
