import re

import pytest

from mixedmodels.formula.terms import FormulaError, RandomTerm, parse_formula


def test_simple_random_intercept():
    parsed = parse_formula("y ~ x + (1 | p)")
    assert parsed.response == "y"
    assert parsed.fixed == "x"
    assert parsed.random == (RandomTerm("1", ("p",), True),)


def test_uncorrelated_and_nested_terms():
    parsed = parse_formula("y ~ (Days || Subject) + Days")
    assert parsed.fixed == "Days"
    assert parsed.random == (RandomTerm("Days", ("Subject",), False),)
    nested = parse_formula("strength ~ 1 + (1 | batch/cask)")
    assert [t.group for t in nested.random] == ["batch", "cask:batch"]


def test_interaction_grouping_and_no_intercept():
    parsed = parse_formula("y ~ I(x + z) + (0 + x | a:b) - 1")
    assert parsed.fixed == "I(x + z) - 1"
    assert parsed.random[0].factors == ("a", "b")
    assert parse_formula("y ~ (1 | g)").fixed == "1"


@pytest.mark.parametrize(
    ("formula", "message", "position"),
    [
        ("y x", "no '~'", 3),
        ("y ~ (1 | g", "unmatched '('", 4),
        ("y ~ x + (1|)", "no grouping factor", 11),
        ("y ~ x + (1 | g + h)", "'g + h' is not a column name", 13),
        ("~ x", "no response", 0),
        ("y ~ x + 1|g", "must be in parentheses", 9),
        ("y ~ x +", "ends with an operator", 6),
    ],
)
def test_bad_formulas_say_where(formula, message, position):
    with pytest.raises(FormulaError, match=re.escape(message)) as info:
        parse_formula(formula)
    assert info.value.position == position
