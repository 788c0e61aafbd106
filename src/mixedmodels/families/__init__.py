"""Response distributions: Family objects (link, variance, deviance, log-density, simulation) and
the response they read.

One module per family or close group (:mod:`.binomial`, :mod:`.poisson`, :mod:`.gaussian`,
:mod:`.quasi`, :mod:`.negative_binomial`, :mod:`.nbinom1`, :mod:`.gamma`, :mod:`.beta`,
:mod:`.truncated`), the base class every family derives from (:mod:`.family`) and the one of
the families with a parameter beyond the mean (:mod:`.parametric`), the links (:mod:`.links`), and the one
place that turns a user's name into a family (:mod:`.lookup`). Adding a family is one class.
:mod:`.response` reads a GLM's or GLMM's response (``cbind``, factors, proportions) for a family.
"""

from .beta import Beta
from .binomial import Binomial
from .family import Family, Initialized
from .gamma import Gamma
from .gaussian import Gaussian
from .links import Link, make_link
from .lookup import family, glm_family, glmmtmb_family, has_dispersion
from .nbinom1 import NegativeBinomial1
from .negative_binomial import NegativeBinomial
from .parametric import ParameterFamily
from .poisson import Poisson
from .quasi import QuasiBinomial, QuasiPoisson
from .truncated import TruncatedNegativeBinomial2, TruncatedPoisson

__all__ = [
    "Beta",
    "Binomial",
    "Family",
    "Gamma",
    "Gaussian",
    "Initialized",
    "Link",
    "NegativeBinomial",
    "NegativeBinomial1",
    "ParameterFamily",
    "Poisson",
    "QuasiBinomial",
    "QuasiPoisson",
    "TruncatedNegativeBinomial2",
    "TruncatedPoisson",
    "family",
    "glm_family",
    "glmmtmb_family",
    "has_dispersion",
    "make_link",
]
