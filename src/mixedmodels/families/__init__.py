"""Response distributions: Family objects (link, variance, deviance, log-density, simulation) and
the response they read.

One module per family (:mod:`.binomial`, :mod:`.poisson`, :mod:`.gaussian`, :mod:`.quasi`), the
base class every family derives from (:mod:`.family`), the links (:mod:`.links`), and the one
place that turns a user's name into a family (:mod:`.lookup`). Adding a family is one class.
:mod:`.response` reads a GLM's or GLMM's response (``cbind``, factors, proportions) for a family.
"""

from .binomial import Binomial
from .family import Family, Initialized
from .gaussian import Gaussian
from .links import Link, make_link
from .lookup import family, glm_family, has_dispersion
from .negative_binomial import NegativeBinomial
from .poisson import Poisson
from .quasi import QuasiBinomial, QuasiPoisson

__all__ = [
    "Binomial",
    "Family",
    "Gaussian",
    "Initialized",
    "Link",
    "NegativeBinomial",
    "Poisson",
    "QuasiBinomial",
    "QuasiPoisson",
    "family",
    "glm_family",
    "has_dispersion",
    "make_link",
]
