"""Run the code examples of the documentation's pages, for the tests and for the site.

A page's fenced blocks whose language is ``python`` are executed in order, in one namespace per
page, with the working directory set to a folder given by the caller (the figures a page saves
with ``fig.savefig("name.png")`` land there). A block whose language is ``sh`` holds command
lines, each starting with ``mixedmodels``; each is run in the same folder by the command line's
own entry point (``mixedmodels.app.cli.main``, in this process: what ``python -m mixedmodels``
runs). Every other fence (``bash``, ``console``, ``text``, ``py``, ...) is shown, not run.

The tests (``tests/test_docs.py``) call :func:`run_page`; the Sphinx build (``docs/conf.py``)
registers :func:`setup`, which runs each page as it is read and writes each block's printed
output under it, so the outputs on the site are those of the code beside them. An example that
raises fails the build.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import textwrap
import traceback
from dataclasses import dataclass
from pathlib import Path

RUN_LANGUAGES = ("python", "sh")
FENCE = re.compile(
    r"^(?P<indent>[ ]*)(?P<fence>```+)(?P<lang>[^`\s]*)[^\n]*\n(?P<body>.*?)^(?P=indent)(?P=fence)[ ]*$",
    re.M | re.S,
)


@dataclass
class Block:
    """One runnable fenced block of a page.

    Attributes
    ----------
    lang : str
        ``"python"`` or ``"sh"``.
    code : str
        The block's text, dedented.
    line : int
        The line of the page (1-based) where the block's opening fence is.
    end : int
        The offset in the page's text just after the closing fence.
    indent : str
        The indentation of the fences (a block inside a list item is indented).
    """

    lang: str
    code: str
    line: int
    end: int
    indent: str


class ExampleError(RuntimeError):
    """An example of a page raised (or a command exited with an error)."""


def blocks(text: str) -> list[Block]:
    """The runnable blocks of a page's Markdown text, in order."""
    found = []
    for m in FENCE.finditer(text):
        lang = m.group("lang").lower()
        if lang in RUN_LANGUAGES:
            code = textwrap.dedent(m.group("body"))
            found.append(Block(lang, code, text.count("\n", 0, m.start()) + 1, m.end(), m.group("indent")))
    return found


def _run_python(code: str, namespace: dict, filename: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, filename, "exec"), namespace)  # noqa: S102 - the examples are ours
    return out.getvalue()


def _run_sh(code: str) -> str:
    from mixedmodels.app.cli import main

    outputs = []
    for line in code.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        argv = shlex.split(line)
        if argv[0] != "mixedmodels":
            raise ExampleError(f"an sh example runs only mixedmodels commands, not {line!r}")
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                status = main(argv[1:])
            except SystemExit as exit_:  # --help, and argparse's own errors
                status = exit_.code
        if status:
            raise ExampleError(f"{line!r} exited with {status}:\n{out.getvalue()}{err.getvalue()}")
        outputs.append(out.getvalue())
    return "".join(outputs)


def run_page(path: str | os.PathLike, workdir: str | os.PathLike) -> list[str]:
    """Run every runnable block of a page, in order, in ``workdir``.

    Parameters
    ----------
    path : path-like
        The Markdown page.
    workdir : path-like
        The working directory of the examples (created if missing).

    Returns
    -------
    list of str
        Each block's printed output (standard output), in order.

    Raises
    ------
    ExampleError
        Naming the page and line of the first block that raised.
    """
    import matplotlib

    matplotlib.use("Agg")
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    namespace: dict = {"__name__": "__docs__"}
    outputs = []
    previous = Path.cwd()
    os.chdir(workdir)
    try:
        for block in blocks(text):
            where = f"{path.name}:{block.line}"
            try:
                if block.lang == "python":
                    outputs.append(_run_python(block.code, namespace, where))
                else:
                    outputs.append(_run_sh(block.code))
            except Exception as exc:
                raise ExampleError(f"the example at {where} failed:\n{traceback.format_exc()}") from exc
    finally:
        os.chdir(previous)
        import matplotlib.pyplot as plt

        plt.close("all")
    return outputs


def with_outputs(text: str, outputs: list[str]) -> str:
    """The page's text with each runnable block followed by its output (when it printed any)."""
    pieces = []
    start = 0
    for block, output in zip(blocks(text), outputs, strict=True):
        pieces.append(text[start : block.end])
        start = block.end
        if output.strip():
            body = textwrap.indent(output.rstrip("\n"), block.indent)
            fence = f"{block.indent}```"
            pieces.append(f"\n\n{fence}{{code-block}} text\n{block.indent}:class: output\n\n{body}\n{fence}")
    pieces.append(text[start:])
    return "".join(pieces)


# ----------------------------------------------------------------------------- Sphinx
def _source_read(app, docname: str, source: list[str]) -> None:
    path = Path(app.env.doc2path(docname))
    if path.suffix != ".md" or not blocks(source[0]):
        return
    workdir = Path(app.srcdir) / "_generated"
    try:
        outputs = run_page(path, workdir)
    except ExampleError as exc:
        raise ExampleError(f"docs/{docname}.md: {exc}") from None
    source[0] = with_outputs(source[0], outputs)


def setup(app):
    """Register the example runner with Sphinx."""
    app.connect("source-read", _source_read)
    return {"version": "1", "parallel_read_safe": False, "parallel_write_safe": True}
