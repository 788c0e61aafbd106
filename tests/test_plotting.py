"""Figures: built without a display, one panel per term, matplotlib imported only when asked."""

import subprocess
import sys

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
