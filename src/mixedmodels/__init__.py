"""Linear mixed-effects models in the style of R's lme4, with the fixed-effects linear model beside them."""

from .app.compare import Comparison, compare
from .base.messages import MixedModelsWarning
from .base.options import options
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
from .replicates.allfit import AllFit, allfit
from .replicates.bootstrap import BootstrapResult, bootstrap
from .replicates.many import ManyResult, lmer_many
from .replicates.power import power
from .replicates.power_results import PowerCurve, PowerResult

__all__ = [
    "AllFit",
    "allfit",
    "BootstrapResult",
    "anova",
    "bootstrap",
    "Comparison",
    "compare",
    "ConvergenceCheck",
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
    "GlmFit",
    "glm",
    "GlmerFit",
    "glmer",
    "glmer_nb",
    "GlmerNbFit",
    "LmFit",
    "LmerFit",
    "MixedModelsWarning",
    "lm",
    "lmer",
    "lmer_many",
    "ManyResult",
    "options",
    "power",
    "PowerCurve",
    "PowerResult",
    "RanovaTable",
    "ranova",
    "WaldAnovaTable",
    "wald_anova",
]
__version__ = "0.1.0"
