"""Safe formula mode: code in a formula is refused before anything is evaluated; columns,
numbers, arithmetic and the allowed functions are evaluated as without it (fuzzed both ways)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mixedmodels as mm
from mixedmodels import datasets
from mixedmodels.app.cli import main
from mixedmodels.formula.design import build_design
from mixedmodels.formula.safety import check_safe
from mixedmodels.formula.terms import parse_formula


@pytest.fixture
def safe():
    previous = mm.options.safe_formulas
    mm.options.safe_formulas = True
    yield
    mm.options.safe_formulas = previous


@pytest.fixture(scope="module")
def sleepstudy():
    return datasets.load("sleepstudy")


def _pwned(path) -> str:
    return f'Reaction ~ Days + I(np.testing._private.utils.os.system("touch {path}") + Days) + (1 | Subject)'


def test_off_by_default():
    assert mm.options.safe_formulas is False


def test_the_issue_example_is_refused_and_runs_nothing(safe, sleepstudy, tmp_path):
    target = tmp_path / "pwned"
    formula = _pwned(target)
    with pytest.raises(mm.FormulaError, match="np.testing._private.utils.os.system") as info:
        mm.lmer(formula, sleepstudy)
    assert info.value.position == formula.index("np.testing")
    assert "safe formula mode" in str(info.value)
    assert not target.exists()


def test_the_cli_refuses_it_always(sleepstudy, tmp_path, capsys):
    target = tmp_path / "pwned"
    assert main(["fit", "sleepstudy", _pwned(target)]) == 2
    err = capsys.readouterr().err
    assert "np.testing._private.utils.os.system" in err and "safe formula mode" in err
    assert not target.exists()
    assert mm.options.safe_formulas is False  # the option is restored after the command
    assert main(["fit", "sleepstudy", "Reaction ~ log(Days + 1) + (1 | Subject)"]) == 0


REFUSED = [
    ("Reaction ~ I(__import__('os').getcwd()) + (1 | Subject)", "__import__"),
    ("Reaction ~ I(Days.__class__) + (1 | Subject)", "attribute access"),
    ("Reaction ~ I(Days.values) + (1 | Subject)", "attribute access"),
    ("Reaction ~ I(Days[0]) + (1 | Subject)", "subscript"),
    ("Reaction ~ I((lambda d: d)(Days)) + (1 | Subject)", "lambda"),
    ("Reaction ~ I(sum([d for d in Days])) + (1 | Subject)", "sum()"),
    ("Reaction ~ I(np.sum([d for d in Days])) + (1 | Subject)", "np.sum"),
    ("Reaction ~ I(abs([d for d in Days])) + (1 | Subject)", "comprehension"),
    ("Reaction ~ I(__builtins__) + (1 | Subject)", "dunder"),
    ("Reaction ~ I(eval('1') + Days) + (1 | Subject)", "eval()"),
    ("Reaction ~ I(open('/etc/passwd')) + (1 | Subject)", "open()"),
    ("Reaction ~ np.save('x', Days) + (1 | Subject)", "np.save"),
    ("Reaction ~ I(Days^10^10^10) + (1 | Subject)", "exponent"),
    ("Reaction ~ I(2**10**10) + (1 | Subject)", "exponent"),
    ("Reaction ~ I((9**64)**64) + (1 | Subject)", "power of a constant power"),
    ("Reaction ~ I(Subject * 100000000) + (1 | Subject)", "non-numeric column 'Subject'"),
    ("Reaction ~ I('a' * 100000000) + (1 | Subject)", "constant 'a'"),
    ("Reaction ~ I(f'{Days}') + (1 | Subject)", "f-string"),
    ("Reaction ~ I((x := Days)) + (1 | Subject)", "assignment"),
    ("Reaction ~ C(Subject, __import__('os')) + (1 | Subject)", "__import__"),
    ("Reaction ~ poly(Days, degree=getattr(Days, 'x')) + (1 | Subject)", "getattr"),
    ("Reaction ~ log(*Days) + (1 | Subject)", "args"),
    ("Reaction ~ Q('nope') + (1 | Subject)", "not a column"),
    ("Reaction ~ Days + __class__ + (1 | Subject)", "'__class__', which is not a column"),
    ("Reaction ~ Days + np + (1 | Subject)", "'np', which is not a column"),
    ("Reaction ~ I(Days if Days else 1) + (1 | Subject)", "conditional"),
    ("Reaction ~ Days + (I(__import__('os')) | Subject)", "__import__"),
    ("I(__import__('os')) ~ Days + (1 | Subject)", "__import__"),
    ("Reaction ~ {__import__('os')} + (1 | Subject)", "__import__"),
    ("Reaction ~ I(log) + (1 | Subject)", "'log' used as a value"),
]


@pytest.mark.parametrize(("formula", "named"), REFUSED, ids=[f for f, _ in REFUSED])
def test_code_is_refused_naming_the_piece(safe, sleepstudy, formula, named):
    with pytest.raises(mm.FormulaError) as info:
        mm.lmer(formula, sleepstudy)
    assert named in str(info.value)
    assert "safe formula mode" in str(info.value)


def test_a_missing_column_is_reported_as_without_the_mode(safe, sleepstudy):
    with pytest.raises(mm.DataError, match="column 'nope' named in the formula is not in the data"):
        mm.lmer("Reaction ~ Days + nope + log(nope2) + (1 | Subject)", sleepstudy)


ACCEPTED = [
    "Reaction ~ Days + (1 | Subject)",
    "log(Reaction) ~ log(Days + 1) + I(Days^2) + (Days | Subject)",
    "Reaction ~ poly(Days, 2) + (1 | Subject)",
    "Reaction ~ scale(Days) + center(Days) + (1 | Subject)",
    "Reaction ~ np.sqrt(Days) + np.log1p(Days) + exp(-Days / 10) + (1 | Subject)",
    "Reaction ~ factor(Days) + (1 | factor(Subject))",
    "Reaction ~ I(Days > 4) + I(Subject == '308') + (1 | Subject)",
    "Reaction ~ C(Days, Sum) + (1 | Subject)",
    "Reaction ~ C(factor(Days), contr.helmert) + (1 | Subject)",
    "Reaction ~ Days + ordered(Days) + (1 | Subject)",
    "Reaction ~ sin(Days) + cos(Days) + abs(Days - 5) + I(-Days ** 0.5) + (1 | Subject)",
]


@pytest.mark.filterwarnings("ignore::mixedmodels.MixedModelsWarning")
@pytest.mark.parametrize("formula", ACCEPTED)
def test_safe_formulas_fit_as_without_the_mode(safe, sleepstudy, formula):
    fit = mm.lmer(formula, sleepstudy)
    mm.options.safe_formulas = False
    again = mm.lmer(formula, sleepstudy)
    pd.testing.assert_series_equal(fit.fixef, again.fixef)


# ------------------------------------------------------------------ fuzzing
DATA = pd.DataFrame(
    {
        "y": np.linspace(1.0, 3.0, 12),
        "a": np.linspace(-2.0, 3.0, 12),
        "b": np.arange(12) % 5 + 0.5,
        "g": list("pqr") * 4,
    }
)
NUMERIC = {"a": DATA["a"].to_numpy(), "b": DATA["b"].to_numpy()}
FUNCTIONS = {
    "log": lambda e: f"log(abs({e}) + 1)",
    "sqrt": lambda e: f"sqrt(abs({e}))",
    "np.sqrt": lambda e: f"np.sqrt(abs({e}) + 2)",
    "exp": lambda e: f"exp(sin({e}))",
    "abs": lambda e: f"abs({e})",
    "cos": lambda e: f"cos({e})",
    "log1p": lambda e: f"np.log1p(abs({e}))",
}
TRUSTED = {
    "log": np.log,
    "sqrt": np.sqrt,
    "exp": np.exp,
    "abs": np.abs,
    "cos": np.cos,
    "sin": np.sin,
    "np": np,
}

leaves = st.one_of(
    st.sampled_from(["a", "b"]),
    st.integers(0, 9).map(str),
    st.floats(0.1, 10, allow_nan=False).map(lambda v: f"{v:.3f}"),
)


def _extend(inner):
    return st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*"]), inner).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, inner).map(lambda t: f"({t[0]} / (abs({t[1]}) + 1))"),
        st.tuples(inner, st.sampled_from(["2", "3", "0.5"])).map(lambda t: f"(abs({t[0]}) ** {t[1]})"),
        inner.map(lambda e: f"(-{e})"),
        st.tuples(st.sampled_from(sorted(FUNCTIONS)), inner).map(lambda t: FUNCTIONS[t[0]](t[1])),
    )


expressions = st.recursive(leaves, _extend, max_leaves=8)


def _build(expr: str):
    return build_design(parse_formula(f"y ~ I({expr})"), DATA, drop=False)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
def test_fuzz_safe_expressions_are_accepted_and_evaluated(expr):
    previous, mm.options.safe_formulas = mm.options.safe_formulas, True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            design = _build(expr)
    finally:
        mm.options.safe_formulas = previous
    expected = eval(expr, {**TRUSTED, "__builtins__": {}}, dict(NUMERIC))  # the test's own expressions
    expected = np.broadcast_to(np.asarray(expected, dtype=float), (len(DATA),))
    np.testing.assert_allclose(design.X[:, -1], expected, rtol=1e-10, atol=1e-12)


INJECTIONS = [
    "{e}.real",
    "{e}[0]",
    "eval('{e}')",
    'exec(\'open("{target}", "w")\')',
    "open('{target}', 'w').write('x') + {e}",
    "np.testing._private.utils.os.system('touch {target}') + {e}",
    "__import__('os').system('touch {target}')",
    "getattr({e}, 'x')",
    "(lambda: open('{target}', 'w'))()",
    "[{e} for _ in range(2)]",
    "__builtins__",
    "{e} ** (10 ** 10)",
    "'{target}' * 10",
    "g * 10",
    "np.save('{target}', {e})",
    "globals()",
    "{e} if {e} else 1",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expressions, st.sampled_from(INJECTIONS), st.sampled_from(["+", "*", "-"]), st.booleans())
def test_fuzz_unsafe_expressions_are_refused(tmp_path, expr, injection, op, left):
    target = tmp_path / "fuzz-created"
    bad = injection.format(e=expr, target=target)
    whole = f"({bad}) {op} {expr}" if left else f"{expr} {op} log(abs({bad}) + 1)"
    with pytest.raises(mm.FormulaError, match="safe formula mode"):
        check_safe(parse_formula(f"y ~ I({whole}) + (1 | g)"), DATA)
    previous, mm.options.safe_formulas = mm.options.safe_formulas, True
    try:
        with pytest.raises(mm.FormulaError, match="safe formula mode"):
            mm.lmer(f"y ~ a + I({whole}) + (1 | g)", DATA)
    finally:
        mm.options.safe_formulas = previous
    assert not target.exists()
