"""Linear mixed-effects models in the style of R's lme4, with the fixed-effects linear model beside them."""

from .allfit import AllFit, allfit
from .bootstrap import BootstrapResult, bootstrap
from .compare import Comparison, compare
from .convergence import ConvergenceCheck
from .daskfit import DaskLmerFit
from .design import DataError
from .emmeans import Emmeans, emmeans
from .families import Family, family
from .formula import FormulaError
from .glm import GlmFit, glm
from .glm_anova import DevianceTable
from .glmer import glmer
from .glmm_results import GlmerFit
from .inference import anova
from .lm import LmFit, lm
from .lmer import lmer
from .many import ManyResult, lmer_many
from .options import options
from .power import power
from .power_results import PowerCurve, PowerResult
from .ranova import RanovaTable, ranova
from .results import LmerFit, MixedModelsWarning

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
    "Emmeans",
    "emmeans",
    "Family",
    "family",
    "FormulaError",
    "GlmFit",
    "glm",
    "GlmerFit",
    "glmer",
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
]
__version__ = "0.1.0"
