"""Linear mixed-effects models in the style of R's lme4, with the fixed-effects linear model beside them."""

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
