"""Figures: built without a display, one panel per term, matplotlib imported only when asked."""

import subprocess
import sys

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels import datasets, plotting

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def sleep_fit():
    return mm.lmer("Reaction ~ Days + (Days | Subject)", datasets.load("sleepstudy"))


def test_caterpillar_has_a_panel_per_term_and_a_row_per_level(sleep_fit):
    fig = plotting.caterpillar(sleep_fit)
    assert [ax.get_title() for ax in fig.axes] == ["Subject: (Intercept)", "Subject: Days"]
    assert len(fig.axes[0].get_yticklabels()) == 18


def test_residual_and_qq_plots(sleep_fit):
    ax = plotting.residual_plot(sleep_fit).axes[0]
    assert ax.get_xlabel() == "fitted" and len(ax.collections[0].get_offsets()) == 180
    assert len(plotting.qq_ranef(sleep_fit).axes) == 2


def test_importing_the_package_does_not_import_matplotlib():
    code = "import sys, mixedmodels as mm; mm.lmer; assert 'matplotlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def _open_pyplot_figures() -> int:
    from matplotlib._pylab_helpers import Gcf

    return len(Gcf.get_all_fig_managers())


def test_figures_are_not_left_open_in_pyplot(sleep_fit, tmp_path):
    """A notebook's inline backend shows every open pyplot figure at the end of a cell, and the
    returned figure once more: a figure must not be registered with pyplot to appear once."""
    before = _open_pyplot_figures()
    boot = mm.bootstrap(sleep_fit, 5, seed=1, progress=False)
    figures = [
        plotting.caterpillar(sleep_fit),
        plotting.residual_plot(sleep_fit),
        plotting.qq_ranef(sleep_fit),
        boot.plot(),
        boot.plot(kind="density"),
        sleep_fit.profile(which="beta_", progress=False).plot(),
    ]
    assert _open_pyplot_figures() == before
    for i, fig in enumerate(figures):
        path = tmp_path / f"figure{i}.png"
        fig.savefig(path)  # scripts still save them
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_comparison_figure_is_not_left_open(tmp_path):
    before = _open_pyplot_figures()
    comparison = mm.compare("y ~ x + (1 | p)", datasets.load("seed"), nsim=10, seed=1, progress=False)
    fig = comparison.figure()
    assert _open_pyplot_figures() == before and len(fig.axes) == 3
    fig.savefig(tmp_path / "comparison.pdf")
    assert (tmp_path / "comparison.pdf").stat().st_size > 0


_CELL_CHECK = """
from IPython.core.interactiveshell import InteractiveShell


class Shell(InteractiveShell):
    def enable_gui(self, gui=None):  # a terminal-less shell has no event loop to start
        pass


shell = Shell.instance()
shell.enable_matplotlib("inline")  # what %matplotlib inline (Jupyter's default) does
shown = []
shell.display_pub.publish = lambda data, metadata=None, **kw: shown.append(sorted(data))
shell.displayhook.write_format_data = lambda data, md=None: shown.append(sorted(data))
shell.run_cell("import mixedmodels as mm; from mixedmodels import datasets, plotting")
shell.run_cell("fit = mm.lmer('Reaction ~ Days + (Days | Subject)', datasets.load('sleepstudy'))")
shown.clear()
shell.run_cell("plotting.caterpillar(fit)")
print("images shown:", sum("image/png" in s for s in shown))
"""


def test_a_figure_returned_by_a_notebook_cell_is_shown_once():
    """An IPython shell with the inline backend, as in Jupyter: one image, not two."""
    pytest.importorskip("IPython")
    pytest.importorskip("matplotlib_inline")
    done = subprocess.run([sys.executable, "-c", _CELL_CHECK], capture_output=True, text=True, check=True)
    assert "images shown: 1\n" in done.stdout


def test_residual_plot_of_glmer_and_glm_fits():
    cbpp = datasets.load("cbpp")
    formula = "cbind(incidence, size - incidence) ~ period"
    glmer_fit = mm.glmer(formula + " + (1 | herd)", cbpp, family="binomial")
    ax = plotting.residual_plot(glmer_fit).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("fitted", "Pearson residual")  # lme4's plot.merMod
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], glmer_fit.fitted.to_numpy())
    np.testing.assert_allclose(points[:, 1], glmer_fit.resid("pearson").to_numpy())
    glm_fit = mm.glm(formula, cbpp, family="binomial")
    ax = plotting.residual_plot(glm_fit).axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("linear predictor", "deviance residual")  # plot.glm
    points = ax.collections[0].get_offsets()
    np.testing.assert_allclose(points[:, 0], glm_fit.linear_predictor.to_numpy())
    np.testing.assert_allclose(points[:, 1], glm_fit.resid("deviance").to_numpy())
    ax = plotting.residual_plot(mm.lm("incidence ~ period", cbpp)).axes[0]
    assert len(ax.collections[0].get_offsets()) == len(cbpp)


def test_residual_plot_refuses_what_it_cannot_plot(sleep_fit):
    boot = mm.bootstrap(sleep_fit, 3, seed=1, progress=False)
    with pytest.raises(TypeError, match="residual_plot takes a fit of mm.lmer, mm.lm, mm.glmer or mm.glm"):
        plotting.residual_plot(boot)
