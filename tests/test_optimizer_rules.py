"""The rules the Newton and quasi-Newton minimizers share, and those they keep apart on purpose.

One escape from a bound (:func:`mixedmodels.numerics.newton.inward_points`) serves both, with its own
``near`` for each; the line searches and the floors of the eigenvalues differ (the docstrings
of :mod:`mixedmodels.numerics.newton` and :mod:`mixedmodels.numerics.quasi_newton` say why), and
are pinned here so that a change to one is a decision, not an accident.
"""

import numpy as np
import pytest

from mixedmodels.numerics import newton, quasi_newton
from mixedmodels.numerics.newton import ESCAPE_STEPS, inward_points, minimize_batch


def _saddle(points: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x^2 - 1)^2 + x^2 / 10 (a maximum along x at the bound 0) and its gradient."""
    x = points[:, 0]
    return (x**2 - 1) ** 2 + x**2 / 10, (4 * x * (x**2 - 1) + x / 5)[:, None]


LOWER = np.array([0.0])


def test_escape_puts_the_coordinate_at_the_first_lower_inward_point():
    x, f = np.array([[0.0]]), np.array([1.0])
    rows, points, values, grads = inward_points(_saddle, x, f, np.array([True]), LOWER)
    assert rows.tolist() == [0]
    assert points[0, 0] == ESCAPE_STEPS[0] * 0.1  # lower + t (0.1 + max|x|), the longest t first
    want_values, want_grads = _saddle(points, rows)
    np.testing.assert_array_equal(values, want_values)
    np.testing.assert_array_equal(grads, want_grads)  # what the evaluation gave, kept with the point


def test_escape_near_a_bound_only_where_asked():
    """Newton's steps reach a bound exactly (near 0), the quasi-Newton steps within rounding."""
    x = np.array([[1e-12]])
    f, _ = _saddle(x, np.array([0]))
    stopped = np.array([True])
    assert inward_points(_saddle, x, f, stopped, LOWER)[0].size == 0
    rows, points, _, _ = inward_points(_saddle, x, f, stopped, LOWER, near=quasi_newton.NEAR_BOUND)
    assert rows.tolist() == [0] and points[0, 0] == ESCAPE_STEPS[0] * (0.1 + 1e-12)


def test_each_minimizer_checks_its_own_near_bound():
    """From 1e-12, short of the bound: the quasi-Newton steps check the point as on the bound and
    escape to the minimum; Newton's (near = 0) stop there, a maximum along x, as converged."""

    def values(points, rows):
        return _saddle(points, rows)[0]

    theta, _, done = minimize_batch(values, np.array([[1e-12]]), LOWER)
    assert done[0] and theta[0, 0] == 1e-12
    res = quasi_newton.minimize_gradient_batch(_saddle, np.array([[1e-12]]), LOWER)
    assert res.converged[0] and res.x[0, 0] == pytest.approx(np.sqrt(0.95), rel=1e-6)


def test_escape_leaves_a_minimum_on_the_bound():
    def bowl(points, rows):
        return (points[:, 0] + 1) ** 2, None

    x = np.array([[0.0]])
    assert inward_points(bowl, x, bowl(x, None)[0], np.array([True]), LOWER)[0].size == 0


def test_both_minimizers_escape_the_saddle_on_the_bound():
    def values(points, rows):
        return _saddle(points, rows)[0]

    theta, _, done = minimize_batch(values, np.array([[0.0]]), LOWER)
    res = quasi_newton.minimize_gradient_batch(_saddle, np.array([[0.0]]), LOWER)
    assert done[0] and res.converged[0]
    assert theta[0, 0] == pytest.approx(np.sqrt(0.95), rel=1e-6)
    assert res.x[0, 0] == pytest.approx(np.sqrt(0.95), rel=1e-6)


def test_eigenvalue_floors_differ():
    """Newton: 1e-10 max|lambda|; quasi-Newton: 1e-8 max(1, max|lambda|)."""
    H = np.diag([1e-3, 1e-16])[None]
    g = np.array([[0.0, 1.0]])
    free = np.array([[True, True]])
    assert newton._newton_step(g, H, free)[0, 1] == pytest.approx(-1 / 1e-13)
    assert quasi_newton._steps(g, H, free)[0, 1] == pytest.approx(-1 / 1e-8)


def test_newton_line_search_takes_a_step_that_does_not_increase_f():
    def flat(points, rows):
        return np.ones(len(points))

    x, s = np.array([[1.0, 1.0]]), np.array([[-2.0, -0.5]])
    x_new, f_new, moved = newton._line_search(flat, np.array([0]), x, np.ones(1), s, np.zeros(2))
    assert moved[0] and f_new[0] == 1.0
    np.testing.assert_array_equal(x_new, [[0.0, 0.5]])  # projected coordinate by coordinate


def test_quasi_newton_line_search_asks_for_sufficient_decrease():
    def flat(points, rows):
        return np.ones(len(points)), np.zeros_like(points)

    x, s, g = np.array([[1.0, 1.0]]), np.array([[-2.0, -0.5]]), np.array([[1.0, 1.0]])
    ok, *_ = quasi_newton._line_search(flat, x, np.ones(1), g, s, np.array([0]), np.zeros(2))
    assert not ok[0]


def test_quasi_newton_line_search_shortens_the_whole_step_to_the_first_bound():
    def bowl(points, rows):
        return np.sum(points**2, axis=1), 2 * points

    x, s = np.array([[1.0, 1.0]]), np.array([[-2.0, -0.5]])
    ok, xn, _, _, t = quasi_newton._line_search(
        bowl, x, np.array([2.0]), 2 * x, s, np.array([0]), np.zeros(2)
    )
    assert ok[0] and t[0] == 1.0
    np.testing.assert_array_equal(xn, [[0.0, 0.75]])  # t_0 = 1/2: the first bound met
