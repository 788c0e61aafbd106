"""Families with one parameter beyond the mean, as glmmTMB has them: the parameter ``phi`` is on
glmmTMB's scale (``exp`` of its dispersion model's intercept): a ``nbinom1``'s ``phi``, a Gamma's
shape, a beta's precision, a Gaussian's variance.

:class:`ParameterFamily` holds what these share: the value (None while a fit is to estimate it),
whether a fit estimates it, the copies at another value, link or with it held fixed, glmmTMB's
observed information by default, identity and printing. Each family (:mod:`.nbinom1`,
:mod:`.gamma`, :mod:`.beta`, :mod:`.gaussian`) writes its own density and derivatives.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from .family import Family, parameter_key, parameter_text
from .links import Link

__all__ = ["ParameterFamily", "clip_start", "positive_parameter", "row_list"]


def positive_parameter(value, what: str):
    """``value`` as a float (or, for one value per problem of a batch, a float array such as (B,
    1): the families' arithmetic is elementwise), checked positive and finite (None passes)."""
    if value is None:
        return None
    value = float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=float)
    if not np.all(np.isfinite(value) & (np.asarray(value) > 0)):
        raise ValueError(f"{what} must be positive and finite, not {value}")
    return value


class ParameterFamily(Family):
    """A family with one parameter ``phi`` beyond the mean (glmmTMB's ``exp(disp)``).

    Parameters
    ----------
    link : Link or str, optional
        The link; the family's default when None.
    parameter : float, optional
        The value of ``phi``; None: a fit estimates it (from :meth:`parameter_start`).
    estimate : bool, optional
        Whether a fit estimates ``phi`` (from the value given, if any); by default when
        ``parameter`` is None (:meth:`_default_estimate`).

    Notes
    -----
    Subclasses name the parameter (:attr:`parameter_name`, the keyword of their constructor) and
    write :meth:`variance`, :meth:`dev_resids`, :meth:`aic`, :meth:`deviance_mu_derivatives`,
    :meth:`parameter_derivatives`, :meth:`parameter_start`, :attr:`sigma`, :meth:`initialize`
    and :meth:`draw`. The deviance's precomputed parts are the generic ones (the deviance depends
    on ``phi``).
    """

    parameter_name: ClassVar[str | None] = "phi"
    default_information: ClassVar[str] = "observed"  # glmmTMB's

    def __init__(
        self, link: Link | str | None = None, parameter: float | None = None, estimate: bool | None = None
    ) -> None:
        super().__init__(link)
        self._value = positive_parameter(parameter, f"the {self.name} family's {self.parameter_name}")
        self._estimate = self._default_estimate(self._value) if estimate is None else bool(estimate)

    def _default_estimate(self, value: float | None) -> bool:
        """Whether a fit estimates the parameter when ``estimate`` is not given: when no value is."""
        return value is None

    def _rebuild(self, value: float | None, link: Link | str, estimate: bool) -> Family:
        """The family of this class at ``value``, ``link`` and ``estimate``, this one's information."""
        return self._same_information(type(self)(link, **{self.parameter_name: value}, estimate=estimate))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ the parameter
    @property
    def parameter(self) -> float | None:
        return self._value

    @property
    def estimates_parameter(self) -> bool:
        return self._estimate

    @property
    def _known(self) -> float:
        """The parameter's value, or an error that says it is still to be estimated."""
        if self._value is None:
            raise ValueError(
                f"the {self.name} family's {self.parameter_name} is not known yet (a fit estimates it)"
            )
        return self._value

    def with_parameter(self, value: float) -> Family:
        return self._rebuild(value, self.link, self._estimate)

    def fixed_parameter(self) -> Family:
        return self._rebuild(self._known, self.link, False)

    def estimating(self) -> Family:
        return self._rebuild(self._value, self.link, True)

    def with_link(self, link: Link | str) -> Family:
        return self._rebuild(self._value, link, self._estimate)

    def glm_form(self) -> Family:
        """The family as ``mm.glm`` takes it: a parameter that is the GLM's dispersion (the Gamma's,
        the Gaussian's: :attr:`dispersion_fixed` False) not estimated by the likelihood (a GLM
        estimates a dispersion its own way, or holds a given value); any other as it is (``mm.glm``
        estimates it with the coefficients, ``method="ml"``)."""
        if self._estimate and not self.dispersion_fixed:
            return self._rebuild(self._value, self.link, False)
        return self

    @property
    def glmm_refusal(self) -> str | None:
        if self._value is None and not self._estimate:
            return (
                f"the {self.name} family has no {self.parameter_name} and does not estimate it: give "
                f"{self.parameter_name}= or estimate=True (family={self.name!r} estimates it)"
            )
        return None

    # ------------------------------------------------------------------ generic deviance parts
    deviance_parts = Family.deviance_parts
    dev_resids_parts = Family.dev_resids_parts
    aic_parts = Family.aic_parts
    aic_from_parts = Family.aic_from_parts
    batch_deviance_split = Family.batch_deviance_split
    batch_dev_resids = Family.batch_dev_resids

    # ------------------------------------------------------------------ identity
    def _key(self) -> tuple:
        return (parameter_key(self._value), self._estimate, *super()._key())

    def __repr__(self) -> str:
        if self._value is None:
            value = "estimated" if self._estimate else "None"
        else:
            value = parameter_text(self._value)
        if self._value is not None and self._estimate:
            value += " (estimated)"
        return f"{type(self).__name__}(link={self.link.name!r}, {self.parameter_name}={value})"


def clip_start(value: float, lo: float, hi: float, fallback: float) -> float:
    """A starting value within ``[lo, hi]``, ``fallback`` where it is not a positive number."""
    if not (np.isfinite(value) and value > 0):
        return fallback
    return float(min(max(value, lo), hi))


def row_list(rows: np.ndarray, most: int = 5) -> str:
    """Row positions (0-based in, 1-based out, as R counts) for a message: the first ``most``,
    then how many in all."""
    shown = ", ".join(str(int(r) + 1) for r in rows[:most])
    return shown + (f", ... ({len(rows)} in all)" if len(rows) > most else "")
