"""The binomial family, as R's ``binomial()``: a proportion of successes ``y`` out of ``w`` trials.

    V(mu) = mu (1 - mu),
    d_i = 2 w_i [ y_i log(y_i / mu_i) + (1 - y_i) log((1 - y_i) / (1 - mu_i)) ]   (0 log 0 = 0),

and ``phi = 1``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import ClassVar

import numpy as np
from scipy import special, stats

from .family import EPS10, Family, Initialized, xlogy_ratio
from .links import Array, as_array

__all__ = ["Binomial"]


def _binomial_dev_resids(y, mu, wt) -> Array:
    y, mu, wt = as_array(y), as_array(mu), as_array(wt)
    return 2.0 * wt * (xlogy_ratio(y, mu) + xlogy_ratio(1.0 - y, 1.0 - mu))


def _binomial_aic(y, n, mu, wt, dev) -> float:
    """R's binomial()$aic: -2 sum (wt / m) log dbinom(round(m y), round(m), mu), m the trials
    (``n`` where any exceeds 1, else the weights)."""
    y, n, mu, wt = as_array(y), as_array(n), as_array(mu), as_array(wt)
    n = np.broadcast_to(n, y.shape)
    m = n if np.any(n > 1) else wt
    m = np.broadcast_to(m, y.shape)
    scale = np.divide(wt, m, out=np.zeros_like(y), where=m > 0)
    logp = stats.binom.logpmf(np.round(m * y), np.round(m), mu)
    return float(-2.0 * np.sum(np.where(scale != 0.0, scale * logp, 0.0)))


def _binomial_initialize(y, weights) -> Initialized:
    """R's binomial()$initialize: a proportion (with trials as weights) or two columns
    (successes, failures)."""
    y = as_array(y)
    weights = as_array(weights)
    if y.ndim == 2:
        if y.shape[1] != 2:
            raise ValueError(
                f"a binomial response has one column or two (successes, failures), not {y.shape[1]}"
            )
        if np.any(y < 0):
            raise ValueError("a binomial cbind(successes, failures) response has negative counts")
        trials = y[:, 0] + y[:, 1]
        prop = np.divide(y[:, 0], trials, out=np.zeros(len(y)), where=trials != 0)
        return Initialized(prop, trials, weights * trials, (trials * prop + 0.5) / (trials + 1.0))
    y = np.where(weights == 0, 0.0, y)
    if np.any((y < 0) | (y > 1)):
        raise ValueError("a binomial response must lie in [0, 1] (a proportion, with weights the trials)")
    return Initialized(y, np.ones(len(y)), weights, (weights * y + 0.5) / (weights + 1.0))


def _binomial_valid_mu(mu) -> bool:
    mu = as_array(mu)
    return bool(np.all(np.isfinite(mu)) and np.all((mu > 0) & (mu < 1)))


class Binomial(Family):
    """R's ``binomial()``: ``y`` the proportion of successes of ``w`` trials, ``V(mu) = mu (1 - mu)``.

    The unit deviance has two forms, kept apart because they round differently (a change would
    move numbers): :meth:`dev_resids` is R's, ``(1 - y) log((1 - y) / (1 - mu))`` by its ratio
    (``glm``'s IRLS, whose deviance reproduces R's to the last digit); :meth:`dev_resids_parts`
    (PIRLS) and :meth:`batch_dev_resids` (batched PIRLS) take ``log1p(-y) - log1p(-mu)``,
    whose rounding does not grow with the trials (a criterion that is smooth at tiny
    probabilities with many trials). For a 0/1 response all three are the same numbers.
    """

    name = "binomial"
    links = ("logit", "probit", "cloglog", "cauchit", "log")
    canonical_link: ClassVar[str | None] = "logit"
    bounded_links = ("log",)
    takes_trials = True
    reference_mu = 0.5
    mean_name = "probability"
    emmeans_label = "prob"

    def variance(self, mu) -> Array:
        mu = as_array(mu)
        return mu * (1.0 - mu)

    def variance_deriv(self, mu) -> Array:
        return 1.0 - 2.0 * as_array(mu)

    def distribution_variance(self, null_mean: Callable[[], float]) -> tuple[float, str]:
        """The variance of the latent residual of the link: ``pi^2 / 3`` (logit, the standard
        logistic), 1 (probit, the standard normal), ``pi^2 / 6`` (cloglog, the standard Gumbel),
        as performance 0.10.2 and since; the null model is not needed."""
        latent = {
            "logit": (math.pi**2 / 3.0, "logistic"),
            "probit": (1.0, "normal"),
            "cloglog": (math.pi**2 / 6.0, "Gumbel"),
        }
        for name, (value, law) in latent.items():
            if self._link_is((name,)):
                return value, f"latent {law} residual of the {name} link: {value:.6g}"
        return super().distribution_variance(null_mean)

    def overdispersion_problem(self, trials) -> str | None:
        """A Bernoulli response (one trial in every row: ``trials``, the prior weights, R's
        binomial sizes in either spelling) has no overdispersion to test: its Pearson
        chi-square depends on the means alone (performance refuses Bernoulli models)."""
        if np.all(np.asarray(trials) <= 1):
            return (
                "a Bernoulli response (one trial in every row): its Pearson chi-square depends on "
                "the fitted probabilities alone, so it cannot show overdispersion (the test needs "
                "binomial trials > 1: cbind(successes, failures), or proportions with weights= "
                "the trials)"
            )
        return None

    def dev_resids(self, y, mu, wt) -> Array:
        """R's: ``2 w [y log(y / mu) + (1 - y) log((1 - y) / (1 - mu))]`` (see the class)."""
        return _binomial_dev_resids(y, mu, wt)

    def aic(self, y, n, mu, wt, dev) -> float:
        return _binomial_aic(y, n, mu, wt, dev)

    def deviance_mu_derivatives(self, y, mu, wt) -> tuple[Array, Array, Array]:
        """``-2 w [y/mu - (1-y)/(1-mu)]`` and its next two derivatives (``y`` a proportion, ``w``
        the trials times the prior weights)."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        a, b = y / mu, (1.0 - y) / (1.0 - mu)
        return (
            -2.0 * wt * (a - b),
            2.0 * wt * (a / mu + b / (1.0 - mu)),
            -4.0 * wt * (a / mu**2 - b / (1.0 - mu) ** 2),
        )

    def initialize(self, y, weights) -> Initialized:
        return _binomial_initialize(y, weights)

    def valid_mu(self, mu) -> bool:
        return _binomial_valid_mu(mu)

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        """Successes out of ``weights`` trials (R refuses non-integer trials too)."""
        w = np.asarray(weights)
        if np.any(w != np.round(w)):
            raise ValueError("cannot simulate a binomial response with non-integer prior weights (trials)")
        return rng.binomial(w.astype(np.int64), mu)

    def draws_as_response(self, draws, weights, empty: float = 0.0) -> Array:
        draws = np.asarray(draws)
        return np.divide(draws, weights, out=np.full(draws.shape, empty), where=np.asarray(weights) > 0)

    def response_as_draws(self, values, weights, means: bool = False) -> Array:
        """Successes: the proportions times the trials, rounded (expected successes, not
        rounded, for ``means``)."""
        counts = np.asarray(values, dtype=float) * np.asarray(weights, dtype=float)
        return counts if means else np.rint(counts)

    def deviance_parts(self, y, wt) -> tuple:
        """For each ``y log(y / mu)`` term its ``y``, where ``y != 0`` and ``y`` with its zeros
        made 1; for a 0/1 response ``2 w`` and where ``y = 1`` (one of the two terms is 0)."""
        c = 1.0 - y
        if np.all((y == 0.0) | (y == 1.0)):  # one of the two terms is 0: the other's log alone
            return (2.0 * wt, y == 1.0)
        return y, y != 0.0, np.where(y != 0.0, y, 1.0), c, c != 0.0, np.where(c != 0.0, c, 1.0)

    def dev_resids_parts(self, parts: tuple, mu, wt) -> Array:
        """The unit deviances, ``(1 - y)``'s term by ``log1p`` (see the class)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            if len(parts) == 2:
                twice_wt, success = parts  # y log(y / mu) with y = 1 is log(1 / mu)
                return twice_wt * np.log(1.0 / np.where(success, mu, 1.0 - mu))
            y, nz, ys, c, cnz, cs = parts
            a = np.where(nz, y * np.log(ys / mu), 0.0)
            return 2.0 * wt * (a + np.where(cnz, c * (np.log1p(-y) - np.log1p(-mu)), 0.0))

    def aic_parts(self, y, trials, wt) -> tuple:
        """(scale, k, m - k, log choose(m, k)): the AIC's terms free of ``mu``."""
        n = np.broadcast_to(trials, y.shape)
        m = np.broadcast_to(n if np.any(n > 1) else wt, y.shape)
        scale = np.divide(wt, m, out=np.zeros_like(y), where=m > 0)
        k, mm = np.round(m * y), np.round(m)
        combiln = special.gammaln(mm + 1) - (special.gammaln(k + 1) + special.gammaln(mm - k + 1))
        return scale, k, mm - k, combiln

    def aic_from_parts(self, parts: tuple, mu) -> float:
        """The same sums as scipy's ``logpmf`` in :meth:`aic`."""
        scale, k, rest, combiln = parts
        logp = combiln + special.xlogy(k, mu) + special.xlog1py(rest, -mu)
        return float(-2.0 * np.sum(np.where(scale != 0.0, scale * logp, 0.0)))

    def batch_deviance_split(self, Y, wt) -> tuple[Array, bool]:
        """``sum 2 w [y log y + (1 - y) log(1 - y)]`` per response, and whether all are 0/1."""
        tw = 2.0 * wt
        c = np.sum(tw * (special.xlogy(Y, Y) + special.xlogy(1.0 - Y, 1.0 - Y)), axis=1)
        return c, bool(np.all((Y == 0.0) | (Y == 1.0)))

    def batch_dev_resids(self, Y, mu, wt, flag: bool) -> Array:
        tw = 2.0 * wt
        if flag:
            return -tw * np.log(np.where(Y == 1.0, mu, 1.0 - mu))
        return -tw * (Y * np.log(mu) + (1.0 - Y) * np.log1p(-mu))

    def response_problem(self, response, weights, name: str) -> str | None:
        response = np.asarray(response)
        if response.ndim == 2:
            if np.any(response < 0):
                return f"the response {name!r} has negative counts: a {self.name} response is counts"
            return None
        outside = (weights != 0) & ((response < 0) | (response > 1))
        if outside.any():
            return (
                f"the response {name!r} has a value {response[outside][0]:g} outside [0, 1]: a binomial "
                "response is 0/1, a proportion (with weights= the trials), a two-level factor or "
                "cbind(successes, failures)"
            )
        return None

    def non_integer_warning(self, response, init: Initialized) -> str | None:
        counts, what = (response, "counts") if response.ndim == 2 else (init.weights * init.y, "#successes")
        if np.any(np.abs(counts - np.round(counts)) > 1e-3):
            return f"non-integer {what} in a binomial glm!"
        return None

    def degenerate(self, y, rows: str) -> tuple[str, str] | None:
        if np.all(y == 0):
            return (
                f"no successes in {rows}",
                "the fitted probabilities run to 0 and the linear predictor to -infinity",
            )
        if np.all(y == 1):
            return (
                f"no failures in {rows}",
                "the fitted probabilities run to 1 and the linear predictor to +infinity",
            )
        return None

    def glm_boundary_warning(self, mu) -> str | None:
        if np.any(mu > 1 - EPS10) or np.any(mu < EPS10):
            return "fitted probabilities numerically 0 or 1 occurred"
        return None

    def glmm_boundary_note(self, mu, eps: float) -> str | None:
        if np.any((mu < eps) | (mu > 1 - eps)):
            return "fitted probabilities numerically 0 or 1 occurred"
        return None

    def new_response(self, y, weights, cbind: bool) -> Array:
        trials = weights if cbind else np.ones(len(y))
        if np.any(y < 0) or np.any(y > trials):
            bound = "its row's trials" if cbind else "1"
            raise ValueError(f"a binomial response must lie between 0 and {bound}")
        return y / trials

    def describe_value(self, value: float) -> str:
        return f"a proportion of {value:g}"

    @property
    def separable(self) -> bool:
        return True

    def separation_sides(self, Y) -> Array:
        side = np.zeros(Y.shape)
        side[Y <= 0] = -1.0
        if not self._link_is(("log",)):  # the log link's means cannot pass 1
            side[Y >= 1] = 1.0
        return side
