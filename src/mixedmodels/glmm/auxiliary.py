"""A GLMM's auxiliary linear models, as glmmTMB's ``dispformula`` and ``ziformula`` write them.

Beside the conditional model ``eta = o + X beta + Z b`` a fit may have

- a **dispersion model**: the family's parameter per observation, ``log phi_i = x_d,i' beta_d``
  (a Gaussian's variance, a negative binomial's size, ...; ``dispformula = "~1"``, the default,
  is the one ``phi`` of :mod:`~mixedmodels.glmm.laplace_ml`);
- a **zero-inflation model**: ``zeta_i = x_z,i' beta_z``, ``pi_i = logistic(zeta_i)`` the
  probability of a structural zero (a hurdle model's probability of a zero;
  :mod:`~mixedmodels.families.zero_inflated`).

Both are fixed-effects models. The fit's parameters are ``x = (theta, beta, beta_d, beta_z)``
(``beta_d = [log phi]`` without a dispersion model), and the family at ``x`` is the conditional
family at ``phi`` with the zero model at ``zeta`` (:meth:`Auxiliary.family_at`). Each auxiliary
linear predictor ``a`` enters the Laplace criterion's gradient as ``X_a' t_a`` with ``t_a`` the
per-observation term of :mod:`~mixedmodels.glmm.laplace_gradient`, the family giving the
derivatives (:meth:`~mixedmodels.families.Family.auxiliary_eta_derivatives`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import special

from ..families import Family
from ..families.zero_inflated import zero_augmented
from ..formula.design import DataError, MatrixSpec, drop_aliased, formula_variables, materialize, model_frame

if TYPE_CHECKING:
    from .pirls import GlmmModel

__all__ = [
    "PARAMETER_BOUNDS",
    "Auxiliary",
    "AuxiliaryPart",
    "any_auxiliary",
    "auxiliary_model",
    "auxiliary_rows",
    "extra_size",
    "model_at",
    "within_bounds",
]

WHAT = {"zi": "zero-inflation", "disp": "dispersion"}
PARAMETER_BOUNDS = (1e-8, 1e8)  # the family's parameter is kept inside these (log phi finite)


@dataclass(frozen=True, eq=False)
class AuxiliaryPart:
    """One auxiliary linear model: its formula, its matrix on the fit's rows, its columns' names
    and the specification that builds the matrix for new data."""

    kind: str  # "zi" or "disp"
    formula: str
    X: np.ndarray
    names: tuple[str, ...]
    spec: MatrixSpec | None

    @property
    def size(self) -> int:
        """The number of coefficients (the matrix's columns)."""
        return self.X.shape[1]

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """The model's matrix for new data (its training columns, levels and codings)."""
        if self.spec is None:
            raise ValueError(f"the {WHAT[self.kind]} model has no specification to apply to new data")
        X = self.spec.matrix(frame)
        return X[:, [self.spec.names.index(n) for n in self.names]]


@dataclass(frozen=True, eq=False)
class Auxiliary:
    """The dispersion and zero-inflation models of a fit (either may be None: the family's one
    parameter, no zero-inflation)."""

    disp: AuxiliaryPart | None = None
    zi: AuxiliaryPart | None = None
    trials: np.ndarray | None = None  # a binomial's trials per row, where zero-inflated

    def disp_size(self, fam: Family) -> int:
        """The dispersion coefficients: the model's columns, or the family's one ``log phi``."""
        if self.disp is not None:
            return self.disp.size
        return int(fam.conditional.estimates_parameter)

    def size(self, fam: Family) -> int:
        """The number of auxiliary coefficients: the dispersion's, then the zero model's."""
        return self.disp_size(fam) + (0 if self.zi is None else self.zi.size)

    def split(self, fam: Family, extra: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(beta_d, beta_z)`` of the auxiliary coefficients ``extra``."""
        k = self.disp_size(fam)
        return extra[:k], extra[k:]

    def log_parameter(self, fam: Family, extra: np.ndarray):
        """``log phi`` (a float, or one per observation with a dispersion model) at ``extra``;
        None where the family has none to estimate."""
        b_d, _ = self.split(fam, extra)
        if not len(b_d):
            return None
        return float(b_d[0]) if self.disp is None else self.disp.X @ b_d

    def zeta(self, fam: Family, extra: np.ndarray) -> np.ndarray | None:
        """The zero-inflation model's linear predictor at ``extra`` (None without one)."""
        if self.zi is None:
            return None
        return self.zi.X @ self.split(fam, extra)[1]

    def family_at(self, fam: Family, extra: np.ndarray) -> Family:
        """The family at the auxiliary coefficients ``extra`` (see the module)."""
        base = fam.conditional
        log_phi = self.log_parameter(fam, extra)
        if log_phi is not None:
            base = base.with_parameter(np.exp(log_phi))
        zeta = self.zeta(fam, extra)
        return base if zeta is None else zero_augmented(base, zeta, self.trials)

    def designs(self, fam: Family) -> list[np.ndarray | None]:
        """The matrices of the family's auxiliary linear predictors, in the order of its
        :meth:`~mixedmodels.families.Family.auxiliary_eta_derivatives` (None: the one ``log phi``,
        whose term is the sum over observations)."""
        out: list[np.ndarray | None] = []
        if fam.conditional.estimates_parameter:
            out.append(None if self.disp is None else self.disp.X)
        if self.zi is not None:
            out.append(self.zi.X)
        return out

    def start(self, fam: Family, log_phi: float | None, pi: float) -> np.ndarray:
        """Starting coefficients: the least-squares ones of a constant ``log phi`` and ``logit
        pi`` on each model's matrix."""
        parts = []
        if log_phi is not None:
            parts.append(np.array([log_phi]) if self.disp is None else _constant(self.disp.X, log_phi))
        if self.zi is not None:
            parts.append(_constant(self.zi.X, float(special.logit(pi))))
        return np.concatenate(parts) if parts else np.zeros(0)


def _constant(X: np.ndarray, value: float) -> np.ndarray:
    """The coefficients whose linear predictor is closest to ``value`` everywhere."""
    return np.linalg.lstsq(X, np.full(len(X), value), rcond=None)[0]


# ----------------------------------------------------------------------------- a model's point
def extra_size(model: GlmmModel) -> int:
    """The number of parameters after ``(theta, beta)``: ``log phi`` where the family estimates
    it, or the dispersion and zero-inflation models' coefficients
    (:class:`~mixedmodels.glmm.auxiliary.Auxiliary`)."""
    if model.aux is not None:
        return model.aux.size(model.fam)
    return int(model.fam.estimates_parameter)


def model_at(model: GlmmModel, extra) -> GlmmModel:
    """The model with its family at the parameters ``extra`` after ``(theta, beta)``: ``log phi``
    (a float or a one-entry array; None or empty: itself where it has no auxiliary models), or
    the auxiliary models' coefficients (:meth:`~mixedmodels.glmm.auxiliary.Auxiliary.family_at`)."""
    if model.aux is not None:
        return model.with_family(
            model.aux.family_at(model.fam, np.atleast_1d(np.asarray(extra, dtype=float)))
        )
    if extra is None or np.size(extra) == 0 or not model.fam.estimates_parameter:
        return model
    log_phi = float(np.ravel(extra)[0])
    return model.with_family(model.fam.with_parameter(float(np.exp(log_phi))))


def within_bounds(model: GlmmModel, extra: np.ndarray) -> bool:
    """Whether ``log phi`` (each observation's, with a dispersion model) is within the logs of
    :data:`PARAMETER_BOUNDS` (the criterion is infinite outside)."""
    if not len(extra):
        return True
    lo, hi = np.log(PARAMETER_BOUNDS)
    if model.aux is None:
        return bool(lo <= extra[0] <= hi)
    log_phi = model.aux.log_parameter(model.fam, extra)
    return log_phi is None or bool(np.all((lo <= log_phi) & (log_phi <= hi)))


# ----------------------------------------------------------------------------- from formulas
def _rhs(formula: str | None, kind: str) -> str | None:
    """The right-hand side of a one-sided formula (``"~ x"``), None where the model is absent or
    the default (``"~0"`` for zero-inflation, ``"~1"`` for dispersion)."""
    if formula is None:
        return None
    if not isinstance(formula, str):
        raise TypeError(f"{kind}formula must be a one-sided formula string such as '~ x', not {formula!r}")
    text = formula.strip()
    if not text:
        raise ValueError(f"{kind}formula is empty: a one-sided formula such as '~ x', or None for no model")
    if not text.startswith("~"):
        if "~" in text:
            raise ValueError(
                f"{kind}formula {formula!r} has a left-hand side: it is one-sided, "
                f"'~ {text.split('~', 1)[1].strip()}' (the response is the main formula's)"
            )
        raise ValueError(
            f"{kind}formula must be a one-sided formula such as '~ x', not {formula!r} "
            f"(did you mean '~ {text}'?)"
        )
    rhs = text[1:].strip()
    if not rhs:
        raise ValueError(f"{kind}formula {formula!r} has no right-hand side: '~1' or '~0', or terms")
    if rhs.replace(" ", "") == ("0" if kind == "zi" else "1"):
        return None
    if "|" in rhs:
        raise NotImplementedError(
            f"random effects in the {WHAT[kind]} model ({kind}formula={formula!r}) are not available "
            "yet: its terms are fixed effects"
        )
    if "offset(" in rhs.replace(" ", ""):
        raise NotImplementedError(f"an offset in {kind}formula is not available yet ({formula!r})")
    if kind == "disp" and rhs.replace(" ", "") in ("0", "-1", "1-1"):
        raise NotImplementedError(
            "dispformula='~0' (a dispersion fixed near zero) is not available: give the family its "
            "parameter to hold it fixed"
        )
    return rhs


def any_auxiliary(formulas: Mapping[str, str | None]) -> bool:
    """Whether any of ``{"zi": ziformula, "disp": dispformula}`` asks for a model (checked)."""
    return any(_rhs(formula, kind) is not None for kind, formula in formulas.items())


def auxiliary_rows(data: pd.DataFrame, formulas: Mapping[str, str | None], na_action: str) -> pd.DataFrame:
    """``data`` without the rows where a variable of the auxiliary models is missing (a new frame;
    ``na_action="raise"`` refuses them), those variables checked to be columns. The rows it drops
    are ``len(data) - len(result)``, counted with the main formula's in ``design.dropped_rows``."""
    if na_action not in ("omit", "raise"):
        raise ValueError(f"na_action must be 'omit' or 'raise', not {na_action!r}")
    columns: list[str] = []
    for kind, formula in formulas.items():
        rhs = _rhs(formula, kind)
        if rhs is None:
            continue
        names = sorted(formula_variables(rhs))
        absent = [n for n in names if n not in data.columns]
        if absent:
            raise DataError(
                f"{kind}formula {formula!r} uses {', '.join(map(repr, absent))}, not a column of the data"
            )
        columns += [n for n in names if n not in columns]
    if not columns:
        return data
    missing = data[columns].isna().any(axis=1).to_numpy()
    if not missing.any():
        return data
    if na_action == "raise":
        counts = data[columns].isna().sum()
        where = ", ".join(f"{c!r} ({int(k)})" for c, k in counts.items() if k)
        raise DataError(f"missing values in {where}; na_action='omit' drops those rows")
    if missing.all():
        raise DataError(
            "no rows left after removing the rows with missing values in the auxiliary models' variables"
        )
    return data.loc[~missing]


def _refuse_one_level(kind: str, formula: str | None, frame: pd.DataFrame, names: list[str]) -> None:
    """A factor of an auxiliary model with one level in the fit's rows has no contrasts (R:
    "contrasts can be applied only to factors with 2 or more levels"): refused by name."""
    for name in names:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column.dtype) and not isinstance(column.dtype, pd.CategoricalDtype):
            continue
        levels = column.dropna().unique()
        if len(levels) < 2:
            raise DataError(
                f"{kind}formula {formula!r}: the factor {name!r} has one level ({levels[0]!r}) in the "
                "fit's rows, so it has no contrasts; drop it from the formula"
            )


def _part(kind: str, formula: str, rhs: str, frame: pd.DataFrame, contrasts) -> AuxiliaryPart:
    """The model of the right-hand side ``rhs`` on ``frame``: aliased columns refused by name."""
    X, spec = materialize(rhs, frame, contrasts, f"{WHAT[kind]} model")
    X, names, aliased = drop_aliased(X, spec.names)
    if aliased:
        raise DataError(
            f"{kind}formula {formula!r}: the columns {', '.join(aliased)} are aliased with the others "
            "(not estimable); drop them from the formula"
        )
    if X.shape[1] == 0:
        raise DataError(f"{kind}formula {formula!r} has no columns")
    return AuxiliaryPart(kind, formula, X, tuple(names), spec)


def auxiliary_model(
    ziformula: str | None,
    dispformula: str | None,
    data: pd.DataFrame,
    rows: pd.Index,
    fam: Family,
    contrasts: Mapping | None = None,
) -> Auxiliary | None:
    """The :class:`Auxiliary` of a fit on the rows ``rows`` of ``data`` (None where both models
    are the defaults), with the family checked to take them."""
    zi_rhs, disp_rhs = _rhs(ziformula, "zi"), _rhs(dispformula, "disp")
    if zi_rhs is None and disp_rhs is None:
        return None
    if disp_rhs is not None and not fam.conditional.estimates_parameter:
        what = (
            "has no parameter beyond the mean"
            if fam.parameter_name is None
            else f"holds its {fam.parameter_name} at a given value"
        )
        raise ValueError(
            f"dispformula={dispformula!r}: the {fam.name} family {what}, so there is no dispersion to model"
        )
    parts = {}
    for kind, formula, rhs in (("disp", dispformula, disp_rhs), ("zi", ziformula, zi_rhs)):
        if rhs is None:
            continue
        names = sorted(formula_variables(rhs))
        if names:
            frame, _ = model_frame(data.loc[rows], names, "omit")
            if len(frame) != len(rows):  # auxiliary_rows dropped the incomplete rows first
                raise DataError(f"{kind}formula {formula!r}: missing values in its variables")
            _refuse_one_level(kind, formula, frame, names)
        else:
            frame = pd.DataFrame(index=pd.RangeIndex(len(rows)))
        parts[kind] = _part(kind, formula, rhs, frame, contrasts)  # type: ignore[arg-type]
    return Auxiliary(disp=parts.get("disp"), zi=parts.get("zi"))
