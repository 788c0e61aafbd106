"""Zero-inflated and hurdle families: a count family mixed with extra zeros, as glmmTMB's
``ziformula`` makes them.

With ``zeta`` the zero-inflation model's linear predictor (one per observation), ``pi =
logistic(zeta)``, ``f`` the conditional family's probability at the mean ``mu`` (from ``eta``)
and ``w`` the prior weight multiplying the log probability (1 for a binomial, whose weights are
its trials):

- **zero-inflated** (:class:`ZeroInflated`): ``p(0) = pi + (1 - pi) f(0)``, ``p(y) = (1 - pi) f(y)``
  for ``y != 0`` (a Gaussian's ``f`` a density, as glmmTMB has it);
- **hurdle** (:class:`Hurdle`, the conditional family zero-truncated): ``p(0) = pi``,
  ``p(y) = (1 - pi) f_trunc(y)`` for ``y > 0`` (``pi`` is the probability of a zero).

Every zero of a zero-inflated model is a mixture. With ``l = log f(0)`` (a function of ``eta``
and of the conditional family's ``log phi``: ``s``), ``log p(0) = F(l) = log(pi + (1 - pi) e^l)``,
whose derivatives in ``l`` are ``q = (1 - pi) e^l / p(0)`` (the probability that a zero is the
count's), ``q (1 - q)`` and ``q (1 - q)(1 - 2 q)``. The unit's ``n = -2 w log p(0)`` then has, with
``d' = -2 l_eta``, ``D = -l_eta,eta``, ``D' = -l_eta,eta,eta`` the conditional family's at ``y = 0``
(Faa di Bruno's formula),

    n'  = w q d',
    N   = w [q D - q (1 - q) d'^2 / 4]                                      (= n'' / 2),
    N'  = w [q D' - 3/2 q (1 - q) d' D + q (1 - q)(1 - 2 q) d'^3 / 8],

in ``s``, from the conditional family's ``(n_s, d'_s, D_s)`` at ``y = 0``,

    dn/ds  = w q n_s,
    dn'/ds = w [q d'_s - q (1 - q) d' n_s / 2],
    dN/ds  = w [q D_s - q (1 - q)(D n_s + d' d'_s) / 2 + q (1 - q)(1 - 2 q) d'^2 n_s / 8],

and in ``zeta`` (``dq / dzeta = -q pi / p(0)``),

    dn/dzeta  = -2 w pi (1 - pi)(1 - e^l) / p(0),
    dn'/dzeta = w q_zeta d',     dN/dzeta = w q_zeta [D - (1 - 2 q) d'^2 / 4].

A positive count has ``n = -2 w log(1 - pi) + n_f``: the conditional family's derivatives in
``eta`` and ``s``, and ``dn/dzeta = 2 w pi``. A hurdle zero has ``n = -2 w log pi`` (nothing of
``eta``: ``dn/dzeta = -2 w (1 - pi)``). These are what the Laplace criterion and its gradient ask
of a family (:meth:`~mixedmodels.families.Family.observed_derivatives`,
:meth:`~mixedmodels.families.Family.auxiliary_eta_derivatives`), so that the fits need not know
the mixture. ``l`` is the conditional family's :meth:`~mixedmodels.families.Family.log_prob_zero`.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from .family import Family, Initialized, parameter_key
from .links import Array, as_array

__all__ = ["Hurdle", "ZeroAugmented", "ZeroInflated", "zero_augmented"]


def _sigmoid_parts(zeta) -> tuple[Array, Array, Array]:
    """``pi``, ``log pi`` and ``log(1 - pi)`` of ``pi = logistic(zeta)``, without overflow."""
    zeta = as_array(zeta)
    return special.expit(zeta), -np.logaddexp(0.0, -zeta), -np.logaddexp(0.0, zeta)


class ZeroAugmented(Family):
    """What the zero-inflated and hurdle families share: a conditional family and the
    zero-inflation model's linear predictor ``zeta`` (see the module).

    Parameters
    ----------
    base : Family
        The conditional family (with its parameter, or an array of it, one per observation).
    zeta : array
        The zero-inflation model's linear predictor, one per observation (or a scalar).
    trials : array, optional
        For a conditional family with trials (a binomial): each row's number of trials ``n``,
        where ``f(0) = (1 - mu)^n``; the prior weights passed to the methods are then ``n`` times
        the weight of the row's log probability (lme4's binomial weights). None: the weights are
        the trials themselves.
    """

    unit_deviance = False  # dev_resids is -2 w log p itself
    observed_information: bool = True  # glmmTMB's; the expected information is not defined here
    default_information = "observed"

    def __init__(self, base: Family, zeta, trials=None) -> None:  # no super().__init__: the base's link
        self.base = base
        self.trials = None if trials is None else np.asarray(trials, dtype=float)
        self.zeta = np.asarray(zeta, dtype=float) if np.ndim(zeta) else float(zeta)
        self.pi, self._log_pi, self._log_1m_pi = _sigmoid_parts(self.zeta)

    # ------------------------------------------------------------------ the conditional family
    @property
    def name(self) -> str:  # type: ignore[override]
        return self.base.name

    @property
    def link(self):
        return self.base.link

    @property
    def links(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.base.links

    @property
    def conditional(self) -> Family:
        return self.base

    @property
    def emmeans_label(self) -> str:  # type: ignore[override]
        """The conditional family's (emmeans' means of the conditional model)."""
        return self.base.emmeans_label

    @property
    def takes_trials(self) -> bool:  # type: ignore[override]
        return self.base.takes_trials

    @property
    def dispersion_fixed(self) -> bool:  # type: ignore[override]
        return self.base.dispersion_fixed

    @property
    def canonical(self) -> bool:
        return False

    @property
    def bounded_eta(self) -> bool:
        return self.base.bounded_eta

    @property
    def reference_mu(self) -> float:  # type: ignore[override]
        """The conditional family's (a binomial's 0.5: at its default 1 the AIC is not finite)."""
        return self.base.reference_mu

    @property
    def newton(self) -> bool:
        return True

    @property
    def parameter_name(self) -> str | None:  # type: ignore[override]
        return self.base.parameter_name

    @property
    def parameter(self):
        return self.base.parameter

    @property
    def estimates_parameter(self) -> bool:
        return self.base.estimates_parameter

    @property
    def sigma(self):
        return self.base.sigma

    @property
    def sigma_squared_shown(self) -> bool:  # type: ignore[override]
        return self.base.sigma_squared_shown

    @property
    def residual_row_shown(self) -> bool:  # type: ignore[override]
        return self.base.residual_row_shown

    @property
    def extra_parameters(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.base.extra_parameters

    def with_zeta(self, zeta) -> ZeroAugmented:
        """The same family with another zero-inflation linear predictor."""
        return type(self)(self.base, zeta, self.trials)

    def with_base(self, base: Family) -> ZeroAugmented:
        """The same zero model over another conditional family (another value of its parameter)."""
        return type(self)(base, self.zeta, self.trials)

    def with_parameter(self, value) -> Family:
        return self.with_base(self.base.with_parameter(value))

    def fixed_parameter(self) -> Family:
        return self.with_base(self.base.fixed_parameter())

    def with_link(self, link) -> Family:
        return self.with_base(self.base.with_link(link))

    def with_information(self, information: str) -> Family:
        if information != "observed":
            raise ValueError(
                f"a {self.kind} {self.base.name} family is fitted with the observed information (glmmTMB's)"
            )
        return self

    def variance(self, mu) -> Array:
        return self.base.variance(mu)

    def variance_deriv(self, mu) -> Array:
        return self.base.variance_deriv(mu)

    def valid_mu(self, mu) -> bool:
        return self.base.valid_mu(mu)

    @property
    def valid_eta(self):
        return self.base.valid_eta

    def parameter_start(self, y, mu, wt) -> float:
        """The conditional family's, from the rows whose counts inform it (its parameter taken
        at those rows too where it is one per observation: a dispersion model's)."""
        y = as_array(y)
        rows = self._count_rows(y)
        base, value = self.base, self.base.parameter
        if value is not None and np.ndim(value) != 0 and np.size(value) == len(y):
            base = base.with_parameter(np.asarray(value).reshape(-1)[rows])
        return base.parameter_start(y[rows], as_array(mu)[rows], as_array(wt)[rows])

    def _count_rows(self, y: Array) -> Array:
        """The rows whose counts inform the conditional family's parameter."""
        return np.ones(len(y), dtype=bool)

    def zero_start(self, y, wt) -> float:
        """A starting probability of the zero model (constant): half the weighted fraction of
        zeros (a zero-inflated model's; a hurdle's is the fraction itself), within [0.01, 0.99]."""
        y, wt = as_array(y), as_array(wt)
        fraction = float(np.sum(wt * (y == 0)) / np.sum(wt))
        return float(np.clip(self._zero_share * fraction, 0.01, 0.99))

    _zero_share = 0.5

    # ------------------------------------------------------------------ weights
    def _outer(self, wt) -> tuple[Array, Array]:
        """``(w, v)``: the weight of the log probability and the conditional family's own weight
        in it (a binomial's trials ``n``: ``(wt / n, n)``, ``(1, wt)`` where they are not given;
        any other ``(wt, 1)``). With the trials given, the methods are linear in ``wt`` (a row's
        information at ``wt = 1`` is its own divided by ``n``), as the fits' working weights
        assume: ``p(0) = pi + (1 - pi)(1 - mu)^n`` is not a power of one trial's."""
        wt = as_array(wt)
        one = np.ones_like(wt)
        if not self.base.takes_trials:
            return wt, one
        if self.trials is None:
            return one, wt
        n = self.trials
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n > 0, wt / n, 0.0), n * one

    # ------------------------------------------------------------------ the response's mean
    def response_mean(self, mu) -> Array:
        """glmmTMB's ``predict(type = "response")``: ``(1 - pi)`` times the conditional family's
        mean of the response (a hurdle's the truncated mean)."""
        return (1.0 - self.pi) * self.base.response_mean(mu)

    def response_variance(self, mu) -> Array:
        """``Var[y] = (1 - pi) (v + m^2) - ((1 - pi) m)^2`` with ``m``, ``v`` the conditional
        family's (a hurdle's truncated) mean and variance of the response."""
        m = self.base.response_mean(mu)
        v = self.base.response_variance(mu)
        keep = 1.0 - self.pi
        return keep * (v + m * m) - (keep * m) ** 2

    def pearson_variance(self, mu) -> Array:
        """What glmmTMB 1.1.5's Pearson residuals divide by: ``(1 - pi) v + pi (1 - pi) m^2``, with
        ``m`` the conditional family's mean of the response (glmmTMB's ``predict(type =
        "conditional")``) and ``v`` its variance evaluated at ``m`` as if ``m`` were the link's
        mean. That is :meth:`response_variance` where the response's mean is the link's (a
        zero-inflated family); a hurdle's truncated variance is taken at the truncated mean, as
        glmmTMB 1.1.5 does (as the truncated families' own
        :meth:`~mixedmodels.families.Family.pearson_variance`)."""
        m = self.base.response_mean(mu)
        v = self.base.response_variance(m)
        return (1.0 - self.pi) * v + self.pi * (1.0 - self.pi) * m * m

    def draws_as_response(self, draws, weights, empty: float = 0.0) -> Array:
        """The conditional family's (a binomial's proportions of its trials)."""
        return self.base.draws_as_response(draws, weights, empty)

    def response_as_draws(self, values, weights, means: bool = False) -> Array:
        """The conditional family's (a binomial's successes)."""
        return self.base.response_as_draws(values, weights, means)

    def zero_probability(self) -> Array:
        """glmmTMB's ``predict(type = "zprob")``: ``pi``."""
        return np.array(self.pi) if np.ndim(self.pi) else self.pi

    def _key(self) -> tuple:
        return (self.base, parameter_key(self.zeta), parameter_key(self.trials))

    def same_family(self, other: Family) -> bool:
        return isinstance(other, type(self)) and self.base.same_family(other.base)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base!r})"

    def glm_form(self) -> Family:
        return self

    @property
    def glmm_refusal(self) -> str | None:
        return self.base.glmm_refusal

    def overdispersion_problem(self, trials) -> str | None:
        """The conditional family's (a zero-inflated count is tested as performance tests it,
        on glmmTMB's Pearson residuals of the zero-inflated distribution)."""
        return self.base.overdispersion_problem(trials)

    def aic(self, y, n, mu, wt, dev) -> float:
        """``-2 sum w log p``: the sum of :meth:`dev_resids` and the conditional family's part of
        ``-2 log f(y)`` free of ``mu`` (its ``aic`` less its deviances, over the nonzero responses)."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        nonzero = y != 0  # a zero-inflated Gaussian's response is also negative
        pos_wt = np.where(nonzero, wt, 0.0)
        ys = np.where(nonzero, y, self._safe_zero)
        base = self.base.aic(ys, n, mu, pos_wt, 0.0) - float(np.sum(self.base.dev_resids(ys, mu, pos_wt)))
        return float(np.sum(self.dev_resids(y, mu, wt))) + base

    _safe_zero = 0.0  # what stands for a zero where the conditional family is evaluated

    def draw(self, mu, weights, rng: np.random.Generator, dispersion: float = 1.0) -> Array:
        """The conditional family's draw (a hurdle's: the truncated family's), made a zero with
        probability ``pi``."""
        counts = self.base.draw(mu, weights, rng, dispersion)
        zero = rng.random(np.shape(counts)) < self.pi
        return np.where(zero, 0, counts)

    kind = "zero-augmented"


class ZeroInflated(ZeroAugmented):
    """glmmTMB's zero-inflated families: ``p(0) = pi + (1 - pi) f(0)``, ``p(y) = (1 - pi) f(y)``
    (see the module)."""

    kind = "zero-inflated"

    def _zero_parts(self, wt, eta, mu) -> tuple[Array, Array, Array, Array]:
        """At ``y = 0``: ``l = log f(0)``, ``log p(0)``, ``q`` and the conditional family's
        ``(d', D, D')`` there (its own weight ``v``)."""
        w, v = self._outer(wt)
        l = self.base.log_prob_zero(mu, v)
        log_p0 = np.logaddexp(self._log_pi, self._log_1m_pi + l)
        q = np.exp(self._log_1m_pi + l - log_p0)
        return l, log_p0, q, w

    def dev_resids(self, y, mu, wt) -> Array:
        """``-2 w log p(y)`` per observation."""
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        w, v = self._outer(wt)
        zero = y == 0
        l = self.base.log_prob_zero(mu, v)
        log_p0 = np.logaddexp(self._log_pi, self._log_1m_pi + l)
        with np.errstate(invalid="ignore"):
            count = -2.0 * w * self._log_1m_pi + self.base.dev_resids(y, mu, wt)
        return np.where(zero, -2.0 * w * log_p0, count)

    def observed_derivatives(self, y, w, eta, mu) -> tuple[Array, Array, Array]:
        y = as_array(y)
        d1, D, dD = self.base.observed_derivatives(y, w, eta, mu)
        outer, v = self._outer(w)
        z1, zD, zdD = self.base.observed_derivatives(0.0 * y, v, eta, mu)
        _, _, q, _ = self._zero_parts(w, eta, mu)
        qq = q * (1.0 - q)
        n1 = outer * q * z1
        N = outer * (q * zD - qq * z1 * z1 / 4.0)
        dN = outer * (q * zdD - 1.5 * qq * z1 * zD + qq * (1.0 - 2.0 * q) * z1**3 / 8.0)
        zero = y == 0
        return np.where(zero, n1, d1), np.where(zero, N, D), np.where(zero, dN, dD)

    def observed_information_eta(self, y, w, eta, mu) -> tuple[Array, Array]:
        """``n'`` and ``N`` of :meth:`observed_derivatives` (the conditional family's first two)."""
        y = as_array(y)
        d1, D = self.base.observed_information_eta(y, w, eta, mu)
        outer, v = self._outer(w)
        z1, zD = self.base.observed_information_eta(0.0 * y, v, eta, mu)
        _, _, q, _ = self._zero_parts(w, eta, mu)
        zero = y == 0
        return np.where(zero, outer * q * z1, d1), np.where(
            zero, outer * (q * zD - q * (1.0 - q) * z1 * z1 / 4.0), D
        )

    def log_prob_zero(self, mu, wt) -> Array:
        return np.logaddexp(self._log_pi, self._log_1m_pi + self.base.log_prob_zero(mu, wt))

    def auxiliary_eta_derivatives(self, y, w, eta, mu) -> tuple[tuple[Array, Array, Array], ...]:
        """The conditional family's parameter's (where it has one to estimate), then ``zeta``'s."""
        y = as_array(y)
        zero = y == 0
        outer, v = self._outer(w)
        l, log_p0, q, _ = self._zero_parts(w, eta, mu)
        z1, zD, _ = self.base.observed_derivatives(0.0 * y, v, eta, mu)
        out: list = []
        if self.base.estimates_parameter:
            n_s, d1_s, D_s = self.base.parameter_eta_derivatives(y, w, eta, mu)
            zn_s, zd1_s, zD_s = self.base.parameter_eta_derivatives(0.0 * y, v, eta, mu)
            qq = q * (1.0 - q)
            zero_terms = (
                outer * q * zn_s,
                outer * (q * zd1_s - qq * z1 * zn_s / 2.0),
                outer
                * (
                    q * zD_s - qq * (zD * zn_s + z1 * zd1_s) / 2.0 + qq * (1.0 - 2.0 * q) * z1**2 * zn_s / 8.0
                ),
            )
            out.append(tuple(np.where(zero, a, b) for a, b in zip(zero_terms, (n_s, d1_s, D_s))))
        pi = self.pi
        p0 = np.exp(log_p0)
        q_zeta = -q * pi / p0
        n_zeta = np.where(zero, -2.0 * outer * pi * (1.0 - pi) * (-np.expm1(l)) / p0, 2.0 * outer * pi)
        d1_zeta = np.where(zero, outer * q_zeta * z1, 0.0)
        D_zeta = np.where(zero, outer * q_zeta * (zD - (1.0 - 2.0 * q) * z1 * z1 / 4.0), 0.0)
        out.append((n_zeta, d1_zeta, D_zeta))
        return tuple(out)

    def initialize(self, y, weights) -> Initialized:
        return self.base.initialize(y, weights)

    def response_problem(self, response, weights, name: str) -> str | None:
        return self.base.response_problem(response, weights, name)

    def new_response(self, y, weights, cbind: bool) -> Array:
        return self.base.new_response(y, weights, cbind)


class Hurdle(ZeroAugmented):
    """glmmTMB's hurdle models (a truncated family with a ``ziformula``): ``p(0) = pi``,
    ``p(y) = (1 - pi) f_trunc(y)`` for ``y > 0`` (see the module)."""

    kind = "hurdle"
    _zero_share = 1.0
    _safe_zero = 1.0  # a truncated family is not evaluated at zero

    def _count_rows(self, y: Array) -> Array:
        return y > 0

    def dev_resids(self, y, mu, wt) -> Array:
        y, mu, wt = as_array(y), as_array(mu), as_array(wt)
        w, _ = self._outer(wt)
        zero = y == 0
        ys = np.where(zero, 1.0, y)
        with np.errstate(invalid="ignore", divide="ignore"):
            count = -2.0 * w * self._log_1m_pi + self.base.dev_resids(ys, mu, wt)
        return np.where(zero, -2.0 * w * self._log_pi, count)

    def observed_derivatives(self, y, w, eta, mu) -> tuple[Array, Array, Array]:
        y = as_array(y)
        zero = y == 0
        parts = self.base.observed_derivatives(np.where(zero, 1.0, y), w, eta, mu)
        return tuple(np.where(zero, 0.0, a) for a in parts)  # type: ignore[return-value]

    def observed_information_eta(self, y, w, eta, mu) -> tuple[Array, Array]:
        d1, D, _ = self.observed_derivatives(y, w, eta, mu)
        return d1, D

    def log_prob_zero(self, mu, wt) -> Array:
        return np.broadcast_to(self._log_pi, np.shape(mu)).copy()

    def auxiliary_eta_derivatives(self, y, w, eta, mu) -> tuple[tuple[Array, Array, Array], ...]:
        y = as_array(y)
        zero = y == 0
        outer, _ = self._outer(w)
        out: list = []
        if self.base.estimates_parameter:
            parts = self.base.parameter_eta_derivatives(np.where(zero, 1.0, y), w, eta, mu)
            out.append(tuple(np.where(zero, 0.0, a) for a in parts))
        pi = self.pi
        n_zeta = np.where(zero, -2.0 * outer * (1.0 - pi), 2.0 * outer * pi)
        nothing = np.zeros(np.shape(n_zeta))
        out.append((n_zeta, nothing, nothing))
        return tuple(out)

    def initialize(self, y, weights) -> Initialized:
        """The conditional family's start on the positive counts (a zero starts at 1)."""
        y = as_array(y)
        if np.any(y < 0):
            raise ValueError(f"negative counts are not allowed for the {self.base.name} hurdle model")
        init = self.base.initialize(np.where(y > 0, y, 1.0), weights)
        return Initialized(y, init.trials, init.weights, init.mustart)

    def response_problem(self, response, weights, name: str) -> str | None:
        response = np.asarray(response, dtype=float)
        if np.any(response < 0):
            return f"the response {name!r} has negative counts: a hurdle model's response is counts >= 0"
        return None

    def new_response(self, y, weights, cbind: bool) -> Array:
        y = as_array(y)
        problem = self.response_problem(y, weights, "newresponse")
        if problem is not None:
            raise ValueError(problem)
        return y

    def degenerate(self, y, rows: str) -> tuple[str, str] | None:
        return None


def zero_augmented(base: Family, zeta, trials=None) -> ZeroAugmented:
    """The family ``base`` with glmmTMB's zero-inflation model at the linear predictor ``zeta``:
    zero-inflated, or a hurdle model where ``base`` is zero-truncated
    (:attr:`~mixedmodels.families.Family.zero_truncated`); refused (ValueError) for a family whose
    response is never 0 (:attr:`~mixedmodels.families.Family.zero_support`)."""
    if base.zero_support is not None:
        raise ValueError(
            f"ziformula is not available for the {base.name} family: its response is "
            f"{base.zero_support}, so a zero cannot be a mixture of structural and sampling zeros "
            "(glmmTMB makes such zeros a hurdle). Fit the two parts separately: a binomial glmer "
            f"of (y > 0), and a {base.name} glmer of the rows with y > 0 (the hurdle's "
            "log-likelihood is the sum of theirs when they share no parameters)"
        )
    return (Hurdle if base.zero_truncated else ZeroInflated)(base, zeta, trials)
