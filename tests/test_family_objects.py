"""The family objects: what each owns, and the arithmetic kept apart where unifying it would move
numbers (the binomial's unit deviance in R's ratio form for glm, by log1p for PIRLS)."""

from __future__ import annotations

import numpy as np
import pytest

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.families import (
    Binomial,
    Family,
    Gaussian,
    Poisson,
    QuasiBinomial,
    QuasiPoisson,
    family,
    glm_family,
    has_dispersion,
)

RNG = np.random.default_rng(5)
Y_PROP = np.array([0.0, 0.25, 0.5, 1.0, 0.8, 1 / 3])
MU = np.array([0.1, 0.3, 0.45, 0.9, 0.7, 0.4])
WT = np.array([4.0, 4.0, 2.0, 1.0, 5.0, 3.0])


def test_names_make_the_classes_and_instances_pass_through():
    assert type(family("binomial")) is Binomial and family("binomial").link.name == "logit"
    assert type(family("poisson", "sqrt")) is Poisson
    assert type(glm_family("quasipoisson")) is QuasiPoisson
    assert type(glm_family("gaussian")) is Gaussian
    fam = Binomial("probit")
    assert family(fam) is fam and glm_family(fam) is fam
    assert family(fam, "cloglog") == Binomial("cloglog")
    assert fam == Binomial("probit") and fam != Binomial("logit") and fam != QuasiBinomial("probit")
    with pytest.raises(ValueError, match="not available for the poisson"):
        Poisson("logit")


def test_dispersion_fixed_and_extra_parameters():
    for fam in (Binomial(), Poisson()):
        assert fam.dispersion_fixed and fam.has_likelihood and not has_dispersion(fam)
    for fam in (QuasiBinomial(), QuasiPoisson()):
        assert not fam.dispersion_fixed and not fam.has_likelihood and has_dispersion(fam)
    assert not Gaussian().dispersion_fixed and Gaussian().has_likelihood
    assert all(f.extra_parameters == () for f in (Binomial(), Poisson(), Gaussian(), QuasiPoisson()))


def test_links_canonical_bounded_and_mirrored():
    assert Binomial().canonical and Poisson().canonical
    assert not Binomial("probit").canonical and not Poisson("sqrt").canonical
    assert Binomial("log").bounded_eta and Poisson("sqrt").bounded_eta and Poisson("identity").bounded_eta
    assert not Binomial("cloglog").bounded_eta and not Poisson().bounded_eta
    assert Poisson("sqrt").link.mirrored and not Poisson().link.mirrored
    assert Poisson("identity").glmm_refusal and Poisson("sqrt").glmm_refusal is None
    assert "dispersion" in QuasiBinomial().glmm_refusal and "mm.lmer" in Gaussian().glmm_refusal


def test_binomial_unit_deviance_forms_kept_apart():
    """glm's is R's ratio ``(1 - y) log((1 - y) / (1 - mu))``; PIRLS's takes log1p, which rounds
    differently: using one for the other moves glm's null deviance in its last digits."""
    fam = Binomial()
    with np.errstate(divide="ignore", invalid="ignore"):
        c = 1.0 - Y_PROP
        ratio = np.where(c != 0, c * np.log(np.where(c != 0, c, 1.0) / (1.0 - MU)), 0.0)
        by_log1p = np.where(c != 0, c * (np.log1p(-Y_PROP) - np.log1p(-MU)), 0.0)
        first = np.where(Y_PROP != 0, Y_PROP * np.log(np.where(Y_PROP != 0, Y_PROP, 1.0) / MU), 0.0)
    np.testing.assert_array_equal(fam.dev_resids(Y_PROP, MU, WT), 2.0 * WT * (first + ratio))
    parts = fam.deviance_parts(Y_PROP, WT)
    np.testing.assert_array_equal(fam.dev_resids_parts(parts, MU, WT), 2.0 * WT * (first + by_log1p))
    np.testing.assert_allclose(
        fam.dev_resids_parts(parts, MU, WT), fam.dev_resids(Y_PROP, MU, WT), rtol=1e-12
    )
    # a 0/1 response: the same numbers in both forms
    y01 = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    parts = fam.deviance_parts(y01, WT)
    np.testing.assert_array_equal(fam.dev_resids_parts(parts, MU, WT), fam.dev_resids(y01, MU, WT))


@pytest.mark.parametrize("fam", [Binomial(), Binomial("probit"), Poisson(), Poisson("sqrt")])
def test_batched_deviance_is_the_deviance_less_its_constant(fam):
    y = Y_PROP if isinstance(fam, Binomial) else np.array([0.0, 1.0, 3.0, 2.0, 0.0, 7.0])
    mu = MU if isinstance(fam, Binomial) else MU * 5
    Y = np.vstack([y, y[::-1]])
    c, flag = fam.batch_deviance_split(Y, WT)
    total = c + fam.batch_dev_resids(Y, mu, WT, flag).sum(axis=1)
    want = np.vstack([fam.dev_resids(Y[0], mu, WT), fam.dev_resids(Y[1], mu, WT)])
    np.testing.assert_allclose(total, want.sum(axis=1), rtol=1e-12)


def test_poisson_has_one_unit_deviance():
    fam = Poisson()
    y = np.array([0.0, 1.0, 3.0, 2.0, 0.0, 7.0])
    mu = MU * 5
    np.testing.assert_array_equal(
        fam.dev_resids(y, mu, WT), fam.dev_resids_parts(fam.deviance_parts(y, WT), mu, WT)
    )


@pytest.mark.parametrize("fam", [Binomial(), Poisson()])
def test_aic_from_parts_is_the_aic(fam):
    y = Y_PROP if isinstance(fam, Binomial) else np.array([0.0, 1.0, 3.0, 2.0, 0.0, 7.0])
    mu = MU if isinstance(fam, Binomial) else MU * 5
    trials = WT
    assert fam.aic_from_parts(fam.aic_parts(y, trials, WT), mu) == pytest.approx(
        fam.aic(y, trials, mu, WT, 0.0), rel=1e-12
    )


def test_the_one_simulator_draws_as_the_old_formulas():
    """The draws of each family are the Generator's own, the same stream as before."""
    mu = np.array([0.2, 0.5, 0.9])
    trials = np.array([3.0, 0.0, 5.0])
    fam = Binomial()
    got = fam.draws_as_response(
        fam.draw(np.broadcast_to(mu, (4, 3)), trials, np.random.default_rng(1)), trials
    )
    k = np.random.default_rng(1).binomial(trials.astype(np.int64), mu, size=(4, 3))
    np.testing.assert_array_equal(got, np.divide(k, trials, out=np.zeros((4, 3)), where=trials > 0))
    nan_empty = fam.draws_as_response(k, trials, empty=np.nan)
    assert np.isnan(nan_empty[:, 1]).all()
    with pytest.raises(ValueError, match="non-integer"):
        fam.draw(mu, np.array([1.5, 1.0, 1.0]), np.random.default_rng(1))
    counts = Poisson().draw(np.broadcast_to(mu * 4, (4, 3)), trials, np.random.default_rng(2))
    np.testing.assert_array_equal(counts, np.random.default_rng(2).poisson(mu * 4, size=(4, 3)))
    normal = Gaussian().draw(np.broadcast_to(mu, (4, 3)), trials, np.random.default_rng(3), 2.0)
    scale = np.sqrt(2.0 / np.where(trials > 0, trials, np.inf))
    np.testing.assert_array_equal(normal, mu + scale * np.random.default_rng(3).standard_normal((4, 3)))
    assert (
        Binomial().simulates and not QuasiPoisson().simulates and not Family.simulates.fget(QuasiBinomial())
    )
    with pytest.raises(ValueError, match="quasi-likelihood"):
        QuasiPoisson().draw(mu, trials, np.random.default_rng(1))


def test_response_checks_and_warnings():
    assert "outside [0, 1]" in Binomial().response_problem(np.array([0.5, 1.5]), np.ones(2), "y")
    assert Binomial().response_problem(np.array([0.5, 1.5]), np.array([1.0, 0.0]), "y") is None
    assert "negative counts" in Poisson().response_problem(np.array([1.0, -1.0]), np.ones(2), "y")
    assert "negative counts" in Binomial().response_problem(np.array([[1.0, -1.0]]), np.ones(1), "y")
    init = Poisson().initialize(np.array([1.5, 2.0]), np.ones(2))
    assert Poisson().non_integer_warning(np.array([1.5, 2.0]), init) is not None
    assert QuasiPoisson().non_integer_warning(np.array([1.5, 2.0]), init) is None
    assert Binomial().degenerate(np.zeros(3), "any of the 3 rows")[0] == "no successes in any of the 3 rows"
    assert QuasiBinomial().degenerate(np.ones(3), "rows")[0] == "no failures in rows"
    assert Poisson().degenerate(np.zeros(3), "rows")[0] == "0 in all 3 rows"
    assert Gaussian().degenerate(np.zeros(3), "rows") is None
    assert Binomial().glm_boundary_warning(np.array([0.5, 1e-17])) is not None
    assert QuasiBinomial().glm_boundary_warning(np.array([0.5, 1e-17])) is None
    assert Poisson().glmm_boundary_note(np.array([1e-17]), 1e-15) is None


def test_a_link_is_canonical_only_where_the_family_says_so():
    """A family's default link (its first) is not its canonical one unless it says so: a family of
    one's own that lists its links ("log" for a negative binomial) keeps the general Laplace
    gradient; taken as canonical, the fit stopped short of the optimum without a warning."""
    assert Binomial().canonical and Poisson().canonical and Gaussian().canonical
    assert not Binomial("probit").canonical and not Poisson("sqrt").canonical

    class CloglogBinomial(Binomial):  # cloglog by default, and not canonical for the binomial
        links = ("cloglog", "logit")
        canonical_link = None

    assert not CloglogBinomial().canonical
    cbpp = datasets.load("cbpp")
    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"
    own = mm.glmer(formula, cbpp, family=CloglogBinomial())
    builtin = mm.glmer(formula, cbpp, family=Binomial("cloglog"))
    assert own.loglik == builtin.loglik
    np.testing.assert_array_equal(own.fixef.to_numpy(), builtin.fixef.to_numpy())


def test_identity_of_a_family_at_a_batch_of_parameters():
    """A family taken at one parameter per problem of a batch (an array, as the batched bootstrap
    takes it) compares, hashes and prints without asking an array for its truth value."""
    import numpy as np

    from mixedmodels.families import Beta, NegativeBinomial, TruncatedNegativeBinomial2

    for fam in (NegativeBinomial(), Beta(), TruncatedNegativeBinomial2()):
        many = fam.with_parameter(np.array([[1.0], [2.0]]))
        same = fam.with_parameter(np.array([[1.0], [2.0]]))
        assert many == same and hash(many) == hash(same) and "(2, 1)" in repr(many)
        assert many != fam.with_parameter(np.array([[1.0], [3.0]])) and many != fam.with_parameter(1.0)
    assert NegativeBinomial(2.0) != TruncatedNegativeBinomial2(2.0)
    assert NegativeBinomial(2.0) == NegativeBinomial(2.0) and Beta(phi=3.0) == Beta(phi=3.0)
