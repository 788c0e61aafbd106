"""A family from a user's name, as R's ``binomial(link = "probit")`` and glmmTMB's ``nbinom1()``:
the one place where a family's name is read.

``family("binomial", link="probit")`` makes one for glmer, ``glm_family`` for glm (which also
takes the quasi families, and the Gamma and Gaussian as R's glm); unknown families and links,
and those not supported yet (inverse Gaussian), are refused with a message that says so. A
:class:`~mixedmodels.families.family.Family` object, the package's or one's own, passes through.
glmmTMB's spellings name its families: "nbinom1", "nbinom2", "Gamma" (or "gamma"), "beta" (or
"beta_family"), "truncated_poisson", "truncated_nbinom2", "gaussian" with the log or inverse link.
"""

from __future__ import annotations

from .beta import Beta
from .binomial import Binomial
from .family import Family
from .gamma import Gamma
from .gaussian import Gaussian
from .nbinom1 import NegativeBinomial1
from .negative_binomial import NegativeBinomial
from .poisson import Poisson
from .quasi import QuasiBinomial, QuasiPoisson
from .truncated import TruncatedNegativeBinomial2, TruncatedPoisson

__all__ = ["family", "glm_family", "glmmtmb_family", "has_dispersion"]

_FAMILIES: dict[str, type[Family]] = {
    "binomial": Binomial,
    "poisson": Poisson,
    "nbinom2": NegativeBinomial,
    "negative_binomial": NegativeBinomial,
    "negative.binomial": NegativeBinomial,
    "nbinom1": NegativeBinomial1,
    "gamma": Gamma,
    "beta": Beta,
    "beta_family": Beta,
    "truncated_poisson": TruncatedPoisson,
    "truncated_nbinom2": TruncatedNegativeBinomial2,
    "gaussian": Gaussian,
}
_NOT_YET = {
    "inverse.gaussian": "the inverse Gaussian family is not supported yet",
    "inverse_gaussian": "the inverse Gaussian family is not supported yet",
    "quasibinomial": "quasi-likelihood families are not available in glmer (lme4 refuses them "
    "too); mm.glm fits them without random effects",
    "quasipoisson": "quasi-likelihood families are not available in glmer (lme4 refuses them "
    "too); mm.glm fits them without random effects",
}


def family(name: str | Family = "binomial", link: str | None = None) -> Family:
    """The family ``name`` with ``link`` (its canonical link when None), as R's ``binomial(link=)``.

    Parameters
    ----------
    name : str or Family
        "binomial", "poisson", "nbinom2" (or "negative_binomial"), "nbinom1", "Gamma",
        "beta" (or "beta_family"), "truncated_poisson", "truncated_nbinom2" or "gaussian"
        (case-insensitive; "binomial()" also accepted); a Family (an instance of any subclass
        of :class:`Family`, the package's or one's own) is returned as it is (with ``link``, if
        given, replacing its link).
    link : str, optional
        binomial: "logit" (default), "probit", "cloglog", "cauchit", "log";
        poisson: "log" (default), "sqrt", "identity"; nbinom2: "log", "sqrt", "identity";
        nbinom1: "log", "sqrt"; Gamma: "inverse" (default, R's), "log", "identity";
        beta: "logit", "probit", "cloglog"; truncated families: "log"; gaussian: "log" or
        "inverse" (with the identity link a Gaussian mixed model is ``mm.lmer``'s).

    Raises
    ------
    ValueError
        An unknown family or link, one the family does not take, a family not supported yet,
        or the Gaussian family with the identity link (a linear mixed model: ``mm.lmer``).
    """
    if isinstance(name, Family):
        return name if link is None or link == name.link.name else name.with_link(link)
    if not isinstance(name, str):
        raise TypeError(f"family must be a name such as 'binomial' or a Family, not {type(name).__name__}")
    key = _key(name)
    if key == "gaussian" and link in (None, "identity"):
        raise ValueError(
            f"family {name!r}: a Gaussian model with the identity link is a linear mixed model: use "
            "mm.lmer (glmer takes the gaussian family with the log or inverse link)"
        )
    if key in _NOT_YET:
        raise ValueError(f"family {name!r}: {_NOT_YET[key]}")
    if key not in _FAMILIES:
        raise ValueError(f"unknown family {name!r}: one of {', '.join(sorted(set(_FAMILIES)))}")
    cls = _FAMILIES[key]
    if link is not None and link not in cls.links:
        allowed = ", ".join(cls.links)
        raise ValueError(f"link {link!r} is not available for the {key} family: one of {allowed}")
    return cls(link=link)


def _key(name: str) -> str:
    """A family's name as the tables here spell it (``"Gamma()"`` -> ``"gamma"``)."""
    return name.strip().removesuffix("()").strip().lower()


def glmmtmb_family(name: str | Family, link: str | None = None) -> Family:
    """The family ``name`` of a model with glmmTMB's zero-inflation or dispersion models: as
    :func:`family`, and the Gaussian with the identity link too (its variance estimated with the
    rest: such a model is not lmer's)."""
    if isinstance(name, str) and _key(name) == "gaussian":
        return Gaussian(link or "identity", estimate=True)
    return family(name, link)


_GLM_ONLY: dict[str, type[Family]] = {
    "gaussian": Gaussian,
    "quasibinomial": QuasiBinomial,
    "quasipoisson": QuasiPoisson,
}


def glm_family(name: str | Family, link: str | None = None) -> Family:
    """The family ``name`` with ``link`` for :func:`mixedmodels.glm`.

    Parameters
    ----------
    name : str or Family
        "binomial", "poisson", "quasibinomial", "quasipoisson", "gaussian", "Gamma" or another
        of :func:`family`'s names (case-insensitive), or a Family (any subclass of
        :class:`~mixedmodels.families.Family`).
    link : str, optional
        The link; the family's default link when None (the Gamma's "inverse", as R's).

    Returns
    -------
    Family
        The family in its GLM form (:meth:`~mixedmodels.families.Family.glm_form`): a Gamma or
        Gaussian family without a given parameter has its dispersion estimated by the GLM (R's
        ``glm``: Pearson's statistic), not as a likelihood parameter.

    Raises
    ------
    ValueError
        An unknown family, or a link the family does not take.
    """
    if isinstance(name, Family):
        return (name if link is None else name.with_link(link)).glm_form()
    if not isinstance(name, str):
        raise TypeError(f"family must be a name such as 'binomial', not {type(name).__name__}")
    key = _key(name)
    if key in _GLM_ONLY:
        return _GLM_ONLY[key](link).glm_form()
    try:
        return family(key, link).glm_form()
    except ValueError as exc:
        if "unknown family" in str(exc):
            names = ", ".join(sorted(set(_FAMILIES) | set(_GLM_ONLY)))
            raise ValueError(f"unknown family {name!r}: one of {names}") from None
        raise


def has_dispersion(fam: Family) -> bool:
    """Whether the family's dispersion is estimated (t tests) rather than fixed at 1 (z tests)."""
    return not fam.dispersion_fixed
