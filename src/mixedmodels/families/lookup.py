"""A family from a user's name, as R's ``binomial(link = "probit")``: the one place where a
family's name is read.

``family("binomial", link="probit")`` makes one for glmer, ``glm_family`` for glm (which also
takes the quasi families and the Gaussian); unknown families and links, and those not supported
yet (Gamma, inverse Gaussian, negative binomial), are refused with a message that says so. A
:class:`~mixedmodels.families.family.Family` object, the package's or one's own, passes through.
"""

from __future__ import annotations

from .binomial import Binomial
from .family import Family
from .gaussian import Gaussian
from .negative_binomial import NegativeBinomial
from .poisson import Poisson
from .quasi import QuasiBinomial, QuasiPoisson

__all__ = ["family", "glm_family", "has_dispersion"]

_FAMILIES: dict[str, type[Family]] = {
    "binomial": Binomial,
    "poisson": Poisson,
    "nbinom2": NegativeBinomial,
    "negative_binomial": NegativeBinomial,
    "negative.binomial": NegativeBinomial,
}
_NOT_YET = {
    "gaussian": "a Gaussian model with the identity link is a linear mixed model: use mm.lmer",
    "gamma": "the Gamma family is not supported yet",
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
        "binomial" or "poisson" (case-insensitive; "binomial()" also accepted); a Family (an
        instance of any subclass of :class:`Family`, the package's or one's own) is returned as
        it is (with ``link``, if given, replacing its link).
    link : str, optional
        binomial: "logit" (default), "probit", "cloglog", "cauchit", "log";
        poisson: "log" (default), "sqrt", "identity".

    Raises
    ------
    ValueError
        An unknown family or link, one the family does not take, or a family not supported yet.
    NotImplementedError
        The Gaussian family with a link other than the identity (R's ``gaussian(link = "log")``).
    """
    if isinstance(name, Family):
        return name if link is None or link == name.link.name else name.with_link(link)
    if not isinstance(name, str):
        raise TypeError(f"family must be a name such as 'binomial' or a Family, not {type(name).__name__}")
    key = name.strip().removesuffix("()").strip().lower()
    if key == "gaussian" and link not in (None, "identity"):
        raise NotImplementedError(
            f"family {name!r} with link {link!r}: the Gaussian family with a non-identity link "
            "is not available yet (in glmer nor in glm); with the identity link it is a linear "
            "mixed model (mm.lmer)"
        )
    if key in _NOT_YET:
        raise ValueError(f"family {name!r}: {_NOT_YET[key]}")
    if key not in _FAMILIES:
        raise ValueError(f"unknown family {name!r}: 'binomial' or 'poisson'")
    cls = _FAMILIES[key]
    if link is not None and link not in cls.links:
        allowed = ", ".join(cls.links)
        raise ValueError(f"link {link!r} is not available for the {key} family: one of {allowed}")
    return cls(link=link)


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
        "binomial", "poisson", "quasibinomial", "quasipoisson" or "gaussian" (case-insensitive),
        or a Family (any subclass of :class:`~mixedmodels.families.Family`).
    link : str, optional
        The link; the family's canonical link when None.

    Raises
    ------
    ValueError
        An unknown family, or a link the family does not take.
    """
    if isinstance(name, Family):
        return name if link is None else name.with_link(link)
    if not isinstance(name, str):
        raise TypeError(f"family must be a name such as 'binomial', not {type(name).__name__}")
    key = name.strip().removesuffix("()").strip().lower()
    if key in _GLM_ONLY:
        return _GLM_ONLY[key](link)
    try:
        return family(key, link)
    except ValueError as exc:
        if "unknown family" in str(exc):
            raise ValueError(
                f"unknown family {name!r}: one of binomial, poisson, quasibinomial, quasipoisson, gaussian"
            ) from None
        raise


def has_dispersion(fam: Family) -> bool:
    """Whether the family's dispersion is estimated (t tests) rather than fixed at 1 (z tests)."""
    return not fam.dispersion_fixed
