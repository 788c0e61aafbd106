"""Linear mixed-effects models in the style of R's lme4, with the fixed-effects linear model beside them."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app.compare import Comparison, compare
    from .base.messages import MixedModelsWarning
    from .base.options import options
    from .checks.dharma_tests import ResidualTest
    from .checks.icc import Icc, icc
    from .checks.model_check import binned_residuals, check_collinearity, cooks_distance, hatvalues
    from .checks.overdispersion import Overdispersion, check_overdispersion
    from .checks.performance import Singularity, check_singularity, compare_performance
    from .checks.r2 import LinearR2, NakagawaR2, VarianceComponents, r2
    from .checks.simulated import SimulatedResiduals, simulate_residuals
    from .checks.tables import augment, glance, tidy
    from .families import Family, family
    from .fixed.glm import GlmFit, glm
    from .fixed.lm import LmFit, lm
    from .formula.frames import DataError
    from .formula.terms import FormulaError
    from .glmm.fit import GlmerFit
    from .glmm.glmer import glmer
    from .glmm.glmer_nb import GlmerNbFit, glmer_nb
    from .inference.anova import anova
    from .inference.deviance import DevianceTable
    from .inference.emmeans import Emmeans, emmeans
    from .inference.ranova import RanovaTable, ranova
    from .inference.wald_anova import Drop1Table, WaldAnovaTable, drop1, wald_anova
    from .lmm.dask import DaskLmerFit
    from .lmm.fit import LmerFit
    from .lmm.lmer import lmer
    from .numerics.convergence import ConvergenceCheck
    from .plotting import check_model
    from .replicates.allfit import AllFit, allfit
    from .replicates.bootstrap import BootstrapResult, bootstrap
    from .replicates.many import ManyResult, lmer_many
    from .replicates.power import power
    from .replicates.power_results import PowerCurve, PowerResult

__all__ = [
    "AllFit",
    "allfit",
    "augment",
    "BootstrapResult",
    "anova",
    "binned_residuals",
    "bootstrap",
    "check_collinearity",
    "check_model",
    "check_overdispersion",
    "check_singularity",
    "compare_performance",
    "Comparison",
    "compare",
    "ConvergenceCheck",
    "cooks_distance",
    "DaskLmerFit",
    "DataError",
    "DevianceTable",
    "Drop1Table",
    "drop1",
    "Emmeans",
    "emmeans",
    "Family",
    "family",
    "FormulaError",
    "glance",
    "GlmFit",
    "glm",
    "GlmerFit",
    "glmer",
    "glmer_nb",
    "GlmerNbFit",
    "hatvalues",
    "Icc",
    "icc",
    "LinearR2",
    "LmFit",
    "LmerFit",
    "MixedModelsWarning",
    "NakagawaR2",
    "Overdispersion",
    "lm",
    "lmer",
    "lmer_many",
    "ManyResult",
    "options",
    "power",
    "r2",
    "PowerCurve",
    "PowerResult",
    "RanovaTable",
    "ranova",
    "tidy",
    "ResidualTest",
    "SimulatedResiduals",
    "simulate_residuals",
    "Singularity",
    "VarianceComponents",
    "WaldAnovaTable",
    "wald_anova",
]
__version__ = "0.1.0"

# where each public name lives: a name's module is imported on first access (PEP 562), so that
# ``import mixedmodels`` and the command line's ``--help`` do not pay for numpy, scipy and pandas
_LOCATIONS = {
    "Comparison": "app.compare",
    "compare": "app.compare",
    "MixedModelsWarning": "base.messages",
    "options": "base.options",
    "ResidualTest": "checks.dharma_tests",
    "Icc": "checks.icc",
    "icc": "checks.icc",
    "binned_residuals": "checks.model_check",
    "check_collinearity": "checks.model_check",
    "cooks_distance": "checks.model_check",
    "hatvalues": "checks.model_check",
    "Overdispersion": "checks.overdispersion",
    "check_overdispersion": "checks.overdispersion",
    "Singularity": "checks.performance",
    "check_singularity": "checks.performance",
    "compare_performance": "checks.performance",
    "LinearR2": "checks.r2",
    "NakagawaR2": "checks.r2",
    "VarianceComponents": "checks.r2",
    "r2": "checks.r2",
    "SimulatedResiduals": "checks.simulated",
    "simulate_residuals": "checks.simulated",
    "augment": "checks.tables",
    "glance": "checks.tables",
    "tidy": "checks.tables",
    "Family": "families",
    "family": "families",
    "GlmFit": "fixed.glm",
    "glm": "fixed.glm",
    "LmFit": "fixed.lm",
    "lm": "fixed.lm",
    "DataError": "formula.frames",
    "FormulaError": "formula.terms",
    "GlmerFit": "glmm.fit",
    "glmer": "glmm.glmer",
    "GlmerNbFit": "glmm.glmer_nb",
    "glmer_nb": "glmm.glmer_nb",
    "anova": "inference.anova",
    "DevianceTable": "inference.deviance",
    "Emmeans": "inference.emmeans",
    "emmeans": "inference.emmeans",
    "RanovaTable": "inference.ranova",
    "ranova": "inference.ranova",
    "Drop1Table": "inference.wald_anova",
    "WaldAnovaTable": "inference.wald_anova",
    "drop1": "inference.wald_anova",
    "wald_anova": "inference.wald_anova",
    "DaskLmerFit": "lmm.dask",
    "LmerFit": "lmm.fit",
    "lmer": "lmm.lmer",
    "ConvergenceCheck": "numerics.convergence",
    "check_model": "plotting",
    "AllFit": "replicates.allfit",
    "allfit": "replicates.allfit",
    "BootstrapResult": "replicates.bootstrap",
    "bootstrap": "replicates.bootstrap",
    "ManyResult": "replicates.many",
    "lmer_many": "replicates.many",
    "power": "replicates.power",
    "PowerCurve": "replicates.power_results",
    "PowerResult": "replicates.power_results",
}


def __getattr__(name: str) -> Any:
    """The public name ``name``, imported from its module on first access and kept."""
    try:
        module = _LOCATIONS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
