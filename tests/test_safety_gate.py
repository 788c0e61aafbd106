"""The safe-mode gate: every place a formula's text (or an argument naming a column or a coding)
reaches an evaluator, for every entry point, refuses code before anything is evaluated.

A fuzzer-style grid: unsafe expressions x slots x entry points. Each case asserts a refusal that
names the problem, that the expression's side effect did not happen (a marker file is not
created) and that nothing it would have read (a secret file's text) appears in the message.
"""

import numpy as np
import pandas as pd
import pytest

import mixedmodels as mm
from mixedmodels.app.cli import main
from mixedmodels.formula.safety import check_safe, expression_slots
from mixedmodels.formula.terms import parse_formula

# ------------------------------------------------------------------ the data
RNG = np.random.default_rng(7)
N = 48
DATA = pd.DataFrame(
    {
        "y": RNG.normal(size=N),
        "x": np.linspace(-1.0, 1.0, N),
        "k": RNG.integers(0, 6, size=N).astype(float),
        "n": np.full(N, 6.0),
        "f": pd.Categorical(np.array(list("abc"))[np.arange(N) % 3]),
        "g": np.array([f"g{i}" for i in range(8)])[np.arange(N) % 8],
    }
)
SECRET = "s3cr3t-f1le-c0ntent"


@pytest.fixture
def safe():
    previous, mm.options.safe_formulas = mm.options.safe_formulas, True
    yield
    mm.options.safe_formulas = previous


@pytest.fixture
def files(tmp_path):
    """The marker a payload would create and a secret file a payload would read."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    return tmp_path / "marker", secret


# ------------------------------------------------------------------ unsafe expressions
PAYLOADS = {
    "import-system": "__import__('os').system('touch {m}')",
    "open-write": "open('{m}', 'w').write('x')",
    "open-read": "open('{s}').read()",
    "dunder-attributes": "x.__class__.__init__.__globals__",
    "lambda": "(lambda: open('{m}', 'w'))()",
    "numpy-os": "np.testing._private.utils.os.system('touch {m}')",
    "getattr": "getattr(np, 'save')('{m}', x)",
    "eval": "eval(\"open('{m}', 'w')\")",
    "comprehension": "[open('{m}', 'w') for _ in x]",
    "subscript": "x[__import__('os').system('touch {m}')]",
}

# ------------------------------------------------------------------ slots: {p} payload, {re} random part
SLOTS = {
    "response": "{p} ~ x{re}",
    "response arithmetic": "y + {p} ~ x{re}",
    "fixed term": "y ~ x + {p}{re}",
    "fixed I()": "y ~ x + I({p}){re}",
    "fixed subtracted": "y ~ x - {p}{re}",
    "fixed function argument": "y ~ x + log(abs({p}) + 1){re}",
    "fixed interaction": "y ~ x:{p}{re}",
    "offset()": "y ~ x + offset({p}){re}",
    "C() column": "y ~ x + C({p}){re}",
    "C() contrast": "y ~ x + C(f, {p}){re}",
    "poly() option": "y ~ poly(x, degree={p}){re}",
    "random expression": "y ~ x + (0 + {p} | g)",
    "random I()": "y ~ x + (1 + I({p}) | g)",
    "grouping factor": "y ~ x + (1 | {p})",
    "nested grouping": "y ~ x + (1 | g/{p})",
    "cbind successes": "cbind({p}, n - k) ~ x{re}",
    "cbind failures": "cbind(k, n - {p}) ~ x{re}",
}
RANDOM_SLOTS = {"random expression", "random I()", "grouping factor", "nested grouping"}
CBIND_SLOTS = {"cbind successes", "cbind failures"}
RESPONSE_SLOTS = {"response", "response arithmetic", *CBIND_SLOTS}
PARSER_SLOTS = {"grouping factor", "nested grouping"}  # refused by the parser: a grouping factor is a name


def _lmer(formula, **kw):
    return mm.lmer(formula, DATA, **kw)


def _glmer(formula, **kw):
    return mm.glmer(formula, DATA, family="binomial" if "cbind" in formula else "poisson", **kw)


def _glmer_y(formula, **kw):
    return mm.glmer(formula.replace("y ~", "k ~", 1), DATA, family="poisson", **kw)


def _lm(formula, **kw):
    return mm.lm(formula, DATA, **kw)


def _glm(formula, **kw):
    return mm.glm(formula, DATA, family="binomial" if "cbind" in formula else "poisson", **kw)


def _lmer_many(formula, **kw):
    rhs = formula[formula.index("~") :]
    responses = pd.DataFrame({"r1": DATA["y"], "r2": DATA["y"] * 2})
    return mm.lmer_many(rhs, DATA, responses, progress=False, **kw)


# entry point -> (function, random part, slots it has)
ENTRIES = {
    "lmer": (_lmer, " + (1 | g)", set(SLOTS) - CBIND_SLOTS),
    "glmer": (_glmer, " + (1 | g)", set(SLOTS) - {"response", "response arithmetic"}),
    "glmer-poisson": (_glmer_y, " + (1 | g)", set(SLOTS) - RESPONSE_SLOTS),
    "lm": (_lm, "", set(SLOTS) - RANDOM_SLOTS - CBIND_SLOTS),
    "glm": (_glm, "", set(SLOTS) - RANDOM_SLOTS),
    "lmer_many": (_lmer_many, " + (1 | g)", set(SLOTS) - RESPONSE_SLOTS),
}
CASES = [
    (entry, slot, payload)
    for entry, (_, _, slots) in ENTRIES.items()
    for slot in SLOTS
    if slot in slots
    for payload in PAYLOADS
]


def _formula(slot: str, payload: str, random: str, marker, secret) -> str:
    expr = PAYLOADS[payload].format(m=marker, s=secret)
    return SLOTS[slot].format(p=expr, re=random)


def _assert_untouched(message: str, marker) -> None:
    assert not marker.exists(), "the payload ran"
    assert SECRET not in message, "the secret file's text is in the message"


@pytest.mark.parametrize(("entry", "slot", "payload"), CASES, ids=["/".join(c) for c in CASES])
def test_every_slot_of_every_entry_point_is_refused(safe, files, entry, slot, payload):
    marker, secret = files
    function, random, _ = ENTRIES[entry]
    formula = _formula(slot, payload, random, marker, secret)
    with pytest.raises(mm.FormulaError) as info:
        function(formula)
    message = str(info.value)
    _assert_untouched(message, marker)
    if slot in PARSER_SLOTS:  # the parser's refusal, or the gate's for a dotted name
        assert "is not a column name" in message or "safe formula mode" in message
    else:
        assert "safe formula mode" in message
    right = formula.split("~", 1)[1]  # the error points into the user's formula
    assert info.value.formula.split("~", 1)[1] == right


# ------------------------------------------------------------------ arguments that name columns or codings
ARGUMENTS = {
    "weights=": lambda p: {"weights": p},
    "offset=": lambda p: {"offset": p},
    "contrasts value": lambda p: {"contrasts": {"f": p}},
    "contrasts key": lambda p: {"contrasts": {p: "sum"}},
}
ARGUMENT_ENTRIES = {
    "lmer": ("y ~ x + f + (1 | g)", _lmer, set(ARGUMENTS)),
    "glmer": ("k ~ x + f + (1 | g)", _glmer, set(ARGUMENTS)),
    "lm": ("y ~ x + f", _lm, set(ARGUMENTS)),
    "glm": ("k ~ x + f", _glm, set(ARGUMENTS)),
    "lmer_many": ("y ~ x + (1 | g)", _lmer_many, {"weights="}),
}
ARGUMENT_CASES = [
    (entry, argument, payload)
    for entry, (_, _, arguments) in ARGUMENT_ENTRIES.items()
    for argument in ARGUMENTS
    if argument in arguments
    for payload in ("import-system", "open-read", "lambda")
]


@pytest.mark.parametrize(
    ("entry", "argument", "payload"), ARGUMENT_CASES, ids=["/".join(c) for c in ARGUMENT_CASES]
)
def test_arguments_given_as_text_are_never_evaluated(safe, files, entry, argument, payload):
    marker, secret = files
    formula, function, _ = ARGUMENT_ENTRIES[entry]
    expr = PAYLOADS[payload].format(m=marker, s=secret)
    with pytest.raises((ValueError, TypeError)) as info:  # mm.DataError is a ValueError
        function(formula, **ARGUMENTS[argument](expr))
    _assert_untouched(str(info.value), marker)
    assert expr in str(info.value)  # names what it refuses


@pytest.mark.parametrize("safe_mode", [True, False])
@pytest.mark.parametrize("argument", ["offset", "weights"])
@pytest.mark.parametrize("entry", ["lmer", "lm", "glm", "glmer"])
def test_a_column_named_like_code_is_looked_up_not_evaluated(files, safe_mode, argument, entry):
    """offset= named a column whose name is code: it was evaluated as I(name) even in safe mode."""
    marker, _ = files
    name = f"__import__('os').system('touch {marker}') or 1"
    data = DATA.assign(**{name: 0.5 if argument == "offset" else 2.0})
    formula = {"lmer": "y ~ x + (1 | g)", "lm": "y ~ x", "glm": "k ~ x", "glmer": "k ~ x + (1 | g)"}[entry]
    function = {"lmer": mm.lmer, "lm": mm.lm, "glm": mm.glm, "glmer": mm.glmer}[entry]
    extra = {"family": "poisson"} if entry in ("glm", "glmer") else {}
    previous, mm.options.safe_formulas = mm.options.safe_formulas, safe_mode
    try:
        fit = function(formula, data, **{argument: name}, **extra)
        plain = function(formula, data, **{argument: data[name].to_numpy()}, **extra)
    finally:
        mm.options.safe_formulas = previous
    assert not marker.exists()
    np.testing.assert_allclose(_coef(fit), _coef(plain), rtol=1e-10)


def _coef(fit) -> np.ndarray:
    return np.asarray(fit.fixef if hasattr(fit, "fixef") else fit.coef, dtype=float)


def test_an_offset_column_with_a_space_in_its_name(files):
    """The same lookup makes offset= work for a column that is not an identifier (it raised a
    SyntaxError), and predictions on new data use it."""
    data = DATA.assign(**{"log t": np.log(DATA["n"])})
    fit = mm.glm("k ~ x", data, family="poisson", offset="log t")
    plain = mm.glm("k ~ x", data, family="poisson", offset=data["log t"].to_numpy())
    np.testing.assert_allclose(fit.coef.to_numpy(dtype=float), plain.coef.to_numpy(dtype=float))
    np.testing.assert_allclose(fit.predict(data.head(4)), np.asarray(fit.predict())[:4], rtol=1e-12)


# ------------------------------------------------------------------ the command line, always safe
CLI_VERBS = {
    "fit": lambda data, f, tmp: ["fit", data, f],
    "fit --family": lambda data, f, tmp: ["fit", data, f.replace("y ~", "k ~", 1), "--family", "poisson"],
    "bootstrap": lambda data, f, tmp: ["bootstrap", data, f, "--nsim", "3"],
    "profile": lambda data, f, tmp: ["profile", data, f],
    "power": lambda data, f, tmp: [
        "power",
        data,
        f,
        "--term",
        "x",
        "--effect",
        "1",
        "--nsim",
        "2",
        "--out",
        str(tmp),
    ],  # fmt: skip
    "many": lambda data, f, tmp: [
        "many",
        data,
        str(tmp / "responses.csv"),
        f[f.index("~") :],
        "--out",
        str(tmp / "many.csv"),
    ],  # fmt: skip
    "compare": lambda data, f, tmp: ["compare", data, f, "--nsim", "3", "--out", str(tmp)],
}
CLI_SLOTS = [
    "response", "fixed term", "fixed I()", "offset()", "C() contrast", "random I()", "grouping factor",
]  # fmt: skip
CLI_CASES = [
    (verb, slot, payload)
    for verb in CLI_VERBS
    for slot in CLI_SLOTS
    if not (verb in ("many", "fit --family") and slot == "response")
    for payload in ("import-system", "open-read", "dunder-attributes")
]


@pytest.fixture
def cli_files(tmp_path):
    DATA.to_csv(tmp_path / "data.csv", index=False)
    pd.DataFrame({"r1": DATA["y"], "r2": DATA["y"] * 2}).to_csv(tmp_path / "responses.csv", index=False)
    return tmp_path


@pytest.mark.parametrize(("verb", "slot", "payload"), CLI_CASES, ids=["/".join(c) for c in CLI_CASES])
def test_every_cli_verb_refuses_every_slot(cli_files, files, capsys, verb, slot, payload):
    marker, secret = files
    formula = _formula(slot, payload, " + (1 | g)", marker, secret)
    assert main(CLI_VERBS[verb](str(cli_files / "data.csv"), formula, cli_files)) == 2
    err = capsys.readouterr().err
    _assert_untouched(err, marker)
    assert err.startswith("mixedmodels: error:")
    assert mm.options.safe_formulas is False  # the command line's safe mode does not leak out


@pytest.mark.parametrize("option", ["--offset", "--weights"])
def test_cli_column_options_are_looked_up(cli_files, files, capsys, option):
    marker, secret = files
    expr = PAYLOADS["import-system"].format(m=marker, s=secret)
    assert main(["fit", str(cli_files / "data.csv"), "y ~ x + (1 | g)", option, expr]) == 2
    assert "is not in the data" in capsys.readouterr().err
    assert not marker.exists()


def test_the_cli_is_safe_by_default_and_the_library_is_not():
    """A formula is code in the library, as in R (off by default); the command line, which may
    be handed formulas from elsewhere, always reads them in safe mode."""
    assert mm.options.safe_formulas is False


# ------------------------------------------------------------------ the gate's list of slots
def test_the_gate_lists_every_expression_of_a_formula():
    formula = "cbind(k, n - k) ~ x + log(x + 2) + offset(log(n)) + (1 + x | g) + (1 | f/g)"
    parsed = parse_formula(formula)
    columns = {c: True for c in DATA.columns}
    slots = [(s.kind, s.text) for s in expression_slots(parsed, columns)]
    assert ("response", "I(n - k)") in slots
    assert ("fixed", "x + log(x + 2)") in slots
    assert ("offset", "I(log(n))") in slots
    assert ("random", "1 + x") in slots
    assert {("grouping", "g"), ("grouping", "f")} <= set(slots)
    check_safe(parsed, DATA)  # all of it allowed


def test_a_subtracted_term_is_checked_too(files):
    """formulaic drops a subtracted term before evaluating anything; the gate reads the tokens, so
    it does not depend on that."""
    marker, _ = files
    with pytest.raises(mm.FormulaError, match="__import__"):
        check_safe(parse_formula(f"y ~ x - I(__import__('os').system('touch {marker}'))"), DATA)


@pytest.mark.parametrize(
    ("formula", "named"),
    [
        ("y ~ (x + f + g)^40 + (1 | g)", "formula power of 3 terms to the 40"),
        ("y ~ (x + f)**x + (1 | g)", "other than a whole number"),
    ],
)
def test_formula_powers_that_would_not_finish_are_refused(safe, formula, named):
    with pytest.raises(mm.FormulaError, match=named):
        mm.lmer(formula, DATA)


@pytest.mark.filterwarnings("ignore::mixedmodels.MixedModelsWarning")
def test_small_formula_powers_fit_as_without_the_mode(safe):
    fit = mm.lm("y ~ (x + f)^2", DATA)
    mm.options.safe_formulas = False
    pd.testing.assert_series_equal(fit.coef, mm.lm("y ~ (x + f)^2", DATA).coef)


# ------------------------------------------------------------------ what the evaluators say
@pytest.mark.parametrize("safe_mode", [True, False])
def test_an_evaluation_error_in_safe_mode_does_not_show_evaluated_values(files, monkeypatch, safe_mode):
    """offset(open(...).read()) showed the file's text in the error. The gate stops it before
    evaluation; the evaluators' messages also withhold what was evaluated in safe mode, shown here
    with the evaluators' own check switched off."""
    from mixedmodels.formula import design

    _, secret = files
    monkeypatch.setattr(design, "guard", lambda rhs, frame: None)
    monkeypatch.setattr(mm.options, "safe_formulas", safe_mode)
    with pytest.raises(mm.DataError, match="offset model matrix") as info:
        design.materialize(f"0 + I(open('{secret}').read())", DATA, None, "offset")
    assert (SECRET in str(info.value)) is not safe_mode


def test_the_evaluators_check_again(safe):
    """A path that skipped the gate still cannot evaluate code: the model-matrix builder checks."""
    from mixedmodels.formula.design import materialize

    with pytest.raises(mm.FormulaError, match="safe formula mode"):
        materialize("x + I(__import__('os').getcwd())", DATA, {"f": "sum"}, "fixed-effects")


def test_predictions_on_new_data_are_checked_in_safe_mode(safe):
    """New data whose column is text where the model's arithmetic expects numbers is refused before
    evaluation (``"a" * 10 ** 8`` would build a huge string)."""
    fit = mm.lm("y ~ I(x * 100000000)", DATA)
    new = pd.DataFrame({"x": ["a", "b"]})
    with pytest.raises(mm.FormulaError, match="non-numeric column 'x'"):
        fit.predict(new)
