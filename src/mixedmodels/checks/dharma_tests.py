"""Scaled (quantile) residuals from simulations, and the tests DHARMa runs on them, on arrays.

The scaled residual of observation ``i`` is the probability integral transform (PIT) of the
observed ``y_i`` under the empirical distribution of its ``n`` simulated values ``s_i1..s_in``:

    lo_i = #{j : s_ij < y_i} / n,    hi_i = #{j : s_ij <= y_i} / n,
    r_i  = lo_i                  if lo_i == hi_i (no simulated value equals y_i),
    r_i  ~ Uniform(lo_i, hi_i)   otherwise (ties: a discrete response, or a point mass).

For a continuous response ``r_i`` is the empirical CDF at ``y_i``; for counts the draw between the
ECDF just below ``y_i`` and at ``y_i`` (``F(y - 1)`` and ``F(y)`` for integers) makes ``r``
uniform under the model (Dunn and Smyth's randomized quantile residuals). Ties are found from the
values themselves, so no family has to say whether it is discrete (DHARMa's PIT method since
0.3.1 works this way; its ``integerResponse`` only matters for its older "traditional" method).

The tests (DHARMa's defaults):

- uniformity: Kolmogorov-Smirnov of ``r`` against Uniform(0, 1) (R's ``ks.test``: exact for
  fewer than 100 residuals without ties, else the asymptotic distribution);
- dispersion: ``D(x) = var(x - f)`` with ``f`` the fitted (population-level) predictions;
  statistic ``D(y) / mean_j D(s_.j)``, p the two-sided simulation p-value;
- zero-inflation: ``Z(x) = #{x_i = 0}``, statistic ``Z(y) / mean_j Z(s_.j)``, the same p;
- outliers: ``k = #{r_i < 1/(n+1)} + #{r_i > 1 - 1/(n+1)}``, the residuals at the margins
  (for a continuous response the ones outside every simulated value, ``r_i`` 0 or 1; a discrete
  response's randomized ``r_i`` can land inside a margin without being outside its simulations),
  an exact binomial test of ``k`` out of the observations at ``2/(n+1)``.

A simulation p-value (DHARMa's ``getP``) compares a statistic ``t`` with its simulated values
``t_j``: ``min(1, 2 min(mean(t_j <= t), mean(t_j >= t)))`` two-sided, ``mean(t_j >= t)``
"greater", ``mean(t_j <= t)`` "less".
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

__all__ = [
    "ALTERNATIVES",
    "ResidualTest",
    "dispersion_test",
    "check_alternative",
    "linear_quantile_regression",
    "outlier_flags",
    "outlier_test",
    "scaled_residuals",
    "simulation_p",
    "uniformity_test",
    "zero_inflation_test",
]

ALTERNATIVES = ("two.sided", "greater", "less")


@dataclass(frozen=True, eq=False)
class ResidualTest:
    """One test on simulated residuals, as R's ``htest`` names its parts.

    Attributes
    ----------
    method : str
        What the test is.
    statistic_name : str
        DHARMa's name of the statistic (``"D"``, ``"dispersion"``, ``"ratioObsSim"``, ...).
    statistic : float
        Its value.
    p : float
        The p-value.
    alternative : str
        ``"two.sided"``, ``"greater"`` or ``"less"``.
    observed : float
        The observed summary (the test statistic's numerator; the outlier count).
    expected : float
        What the model expects of it (the mean of the simulated summaries; the expected count).
    simulated : numpy.ndarray or None
        The summary of each simulation (a simulation-based test's), else None.
    """

    method: str
    statistic_name: str
    statistic: float
    p: float
    alternative: str
    observed: float
    expected: float
    simulated: np.ndarray | None = field(default=None, repr=False)

    @property
    def significant(self) -> bool:
        """Whether ``p < 0.05`` (what DHARMa's plot colours red)."""
        return bool(self.p < 0.05)

    def __str__(self) -> str:
        from ..report.checks_simres import residual_test_text

        return residual_test_text(self)


def check_alternative(alternative: str) -> str:
    """``alternative``, checked: one of :data:`ALTERNATIVES`."""
    if alternative not in ALTERNATIVES:
        allowed = ", ".join(repr(a) for a in ALTERNATIVES)
        raise ValueError(f"alternative must be one of {allowed}, not {alternative!r}")
    return alternative


def scaled_residuals(observed: np.ndarray, simulated: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The PIT residuals of ``observed`` (n) against the rows of ``simulated`` (n x nsim).

    Draws one uniform per observation from ``rng`` (whether or not any tie needs it, so the
    stream does not depend on the data).
    """
    y = np.asarray(observed, dtype=float)[:, None]
    lo = np.count_nonzero(simulated < y, axis=1) / simulated.shape[1]
    hi = np.count_nonzero(simulated <= y, axis=1) / simulated.shape[1]
    jitter = rng.random(len(lo))
    return np.where(lo == hi, lo, lo + jitter * (hi - lo))


def simulation_p(simulated: np.ndarray, observed: float, alternative: str) -> float:
    """DHARMa's simulation p-value of ``observed`` among ``simulated`` (see the module)."""
    below = float(np.mean(simulated <= observed))
    above = float(np.mean(simulated >= observed))
    if alternative == "greater":
        return above
    if alternative == "less":
        return below
    return min(1.0, 2.0 * min(below, above))


def _simulation_test(
    method: str, name: str, observed: float, simulated: np.ndarray, alternative: str
) -> ResidualTest:
    expected = float(np.mean(simulated))
    ratio = observed / expected if expected != 0 else (np.nan if observed == 0 else np.inf)
    return ResidualTest(
        method=method,
        statistic_name=name,
        statistic=float(ratio),
        p=simulation_p(simulated, observed, alternative),
        alternative=alternative,
        observed=float(observed),
        expected=expected,
        simulated=simulated,
    )


def uniformity_test(scaled: np.ndarray, alternative: str = "two.sided") -> ResidualTest:
    """Kolmogorov-Smirnov test of the scaled residuals against Uniform(0, 1) (R's ``ks.test``)."""
    check_alternative(alternative)
    r = np.asarray(scaled, dtype=float)
    exact = len(r) < 100 and len(np.unique(r)) == len(r)
    side = {"two.sided": "two-sided", "greater": "greater", "less": "less"}[alternative]
    res = stats.kstest(r, "uniform", alternative=side, method="exact" if exact else "asymp")
    kind = "Exact" if exact else "Asymptotic"
    return ResidualTest(
        method=f"{kind} one-sample Kolmogorov-Smirnov test",
        statistic_name={"two.sided": "D", "greater": "D^+", "less": "D^-"}[alternative],
        statistic=float(res.statistic),
        p=float(res.pvalue),
        alternative=alternative,
        observed=float(res.statistic),
        expected=0.0,
    )


def dispersion_test(
    observed: np.ndarray, simulated: np.ndarray, fitted: np.ndarray, alternative: str = "two.sided"
) -> ResidualTest:
    """DHARMa's default dispersion test: the variance of the observed response around the
    fitted values against the variances of the simulations around them (see the module)."""
    check_alternative(alternative)
    f = np.asarray(fitted, dtype=float)
    obs = float(np.var(np.asarray(observed, dtype=float) - f, ddof=1))
    sims = np.var(simulated - f[:, None], axis=0, ddof=1)
    return _simulation_test(
        "DHARMa nonparametric dispersion test via sd of residuals fitted vs. simulated",
        "dispersion",
        obs,
        sims,
        alternative,
    )


def zero_inflation_test(
    observed: np.ndarray, simulated: np.ndarray, alternative: str = "two.sided"
) -> ResidualTest:
    """DHARMa's zero-inflation test: observed zeros against the zeros of each simulation."""
    check_alternative(alternative)
    obs = float(np.count_nonzero(np.asarray(observed) == 0))
    sims = np.count_nonzero(simulated == 0, axis=0).astype(float)
    return _simulation_test(
        "DHARMa zero-inflation test via comparison to expected zeros with simulation under H0 = fitted model",
        "ratioObsSim",
        obs,
        sims,
        alternative,
    )


def outlier_flags(scaled: np.ndarray, nsim: int) -> np.ndarray:
    """Which scaled residuals are outliers: ``r < 1/(nsim+1)`` or ``r > 1 - 1/(nsim+1)`` (see the
    module; for a continuous response exactly the residuals at 0 or 1)."""
    r = np.asarray(scaled, dtype=float)
    edge = 1.0 / (nsim + 1)
    return (r < edge) | (r > 1.0 - edge)


def outlier_test(scaled: np.ndarray, nsim: int, alternative: str = "two.sided") -> ResidualTest:
    """DHARMa's outlier test (``type = "binomial"``, both margins): the number of
    :func:`outlier_flags`, an exact binomial test at ``2 / (nsim + 1)``."""
    check_alternative(alternative)
    flags = outlier_flags(scaled, nsim)
    k, edge = int(np.count_nonzero(flags)), 1.0 / (nsim + 1)
    res = stats.binomtest(k, len(flags), p=2.0 * edge, alternative=alternative.replace(".", "-"))
    return ResidualTest(
        method="DHARMa outlier test based on exact binomial test with approximate expectations",
        statistic_name="outliers at both margin(s)",
        statistic=float(k),
        p=float(res.pvalue),
        alternative=alternative,
        observed=float(k),
        expected=2.0 * edge * len(flags),
    )


def linear_quantile_regression(x: np.ndarray, y: np.ndarray, tau: float) -> tuple[float, float]:
    """Intercept and slope of the linear ``tau``-quantile regression of ``y`` on ``x`` (Koenker
    and Bassett's check-loss minimum, as the linear program ``min tau 1'u + (1 - tau) 1'v``
    subject to ``a + b x + u - v = y``, ``u, v >= 0``, solved by HiGHS)."""
    from scipy.optimize import linprog
    from scipy.sparse import csr_matrix, eye, hstack

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(y)
    ones = csr_matrix(np.column_stack([np.ones(n), x]))
    A = hstack([ones, eye(n, format="csr"), -eye(n, format="csr")], format="csr")
    c = np.concatenate([[0.0, 0.0], np.full(n, tau), np.full(n, 1.0 - tau)])
    bounds = [(None, None), (None, None)] + [(0, None)] * (2 * n)
    res = linprog(c, A_eq=A, b_eq=y, bounds=bounds, method="highs")
    if not res.success:
        raise RuntimeError(f"the quantile regression at {tau} failed: {res.message}")
    return float(res.x[0]), float(res.x[1])
