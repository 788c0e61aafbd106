"""``lmer()``: checks its input and hands it to the stages that fit it.

formula -> design (:mod:`~mixedmodels.formula.design`) -> blocked factor (:mod:`~mixedmodels.numerics.pls`) ->
engine (:mod:`~mixedmodels.lmm.engine`) -> :class:`~mixedmodels.lmm.fit.LmerFit`; a Dask DataFrame
goes to :mod:`~mixedmodels.lmm.dask` instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..formula.design import DataError, build_design
from ..formula.frames import check_frame, is_dask_frame
from ..formula.rsyntax import r_keywords
from ..formula.terms import FormulaError, parse_formula
from ..numerics.memory import check_memory
from .dask import lmer_dask
from .engine import aliased_notes, fit_model, model_pls
from .fit import LmerFit

__all__ = ["lmer"]


@r_keywords
def lmer(
    formula: str,
    data: pd.DataFrame,
    reml: bool = True,
    contrasts: Mapping[str, object] | None = None,
    na_action: str = "omit",
    start: np.ndarray | None = None,
    memory_limit: float | None = None,
    weights: str | np.ndarray | None = None,
    offset: str | np.ndarray | None = None,
) -> LmerFit:
    """Fit a linear mixed-effects model by REML (default) or maximum likelihood, as lme4's ``lmer``.

    Parameters
    ----------
    formula : str
        An lme4 formula: ``"y ~ x + (1 | g)"``, ``(x || g)``, ``(1 | a/b)``, ``(1 | a:b)``.
    data : pandas.DataFrame, polars.DataFrame or dask.dataframe.DataFrame
        The data; it is not modified. Of a polars DataFrame only the columns the model uses are
        converted (:mod:`mixedmodels.formula.frames`). A Dask DataFrame is fitted from cross-products
        summed over its partitions (:mod:`mixedmodels.lmm.dask`), with the same estimates.
    reml : bool
        REML (True, lme4's default) or maximum likelihood.
    contrasts : mapping, optional
        Coding of categorical columns: ``{"p": "sum"}``; "treatment", "sum", "helmert",
        "poly" or a matrix with one row per level.
    na_action : {"omit", "raise"}
        Drop rows with missing values in the model's variables (and report how many) or refuse.
    start : array, optional
        Starting ``theta``; lme4's default (identity templates) when not given.
    memory_limit : float, optional
        Bytes the dense block of the Cholesky factor (or the map of pair products that updates
        it) may take (default ``mixedmodels.options.memory_limit``, 8 GiB); a larger model is
        refused before it is built.
    weights : str or array, optional
        Prior weights, as lme4's ``weights``: a column name or one non-negative number per row.
        The residual variance of row ``i`` is ``sigma^2 / w_i``; a row of weight 0 has no
        influence on the fit (it is not counted in the criterion's ``n``). Negative weights,
        and weights all zero, are refused. A missing weight drops its row (``na_action="omit"``)
        or is refused (``"raise"``), as a missing value of any variable, R's rule.
    offset : str or array, optional
        A known term of the linear predictor: a column name or one number per row, added to any
        ``offset(expr)`` terms of the formula. A column (or a formula offset) is evaluated again
        on new data by ``predict``. A missing offset drops its row as a missing weight does,
        whether given here or as ``offset(col)`` in the formula.

    Returns
    -------
    LmerFit
    """
    check_frame(data, dask=True)
    parsed = parse_formula(formula)
    if not parsed.random:
        raise FormulaError(
            formula,
            len(formula),
            "no random-effects terms such as (1 | g): use mm.lm for a fixed-effects model",
        )
    if is_dask_frame(data):
        return lmer_dask(
            formula, parsed, data, reml, contrasts, na_action, start, memory_limit, weights, offset
        )
    design = build_design(
        parsed, data, contrasts=contrasts, na_action=na_action, weights=weights, offset=offset
    )
    n, p = design.X.shape
    if p >= n:
        raise DataError(f"{p} fixed effects for {n} observations: the model cannot be estimated")
    if np.ptp(design.y) == 0:
        raise DataError(
            f"the response {design.response!r} is constant ({design.y[0]:g} in all {n} rows): "
            "there is no variation to model"
        )
    check_memory(design.reterms, p, memory_limit)
    pls = model_pls(design, memory_limit=memory_limit)
    context = {
        "data": data,
        "contrasts": dict(contrasts or {}),
        "na_action": na_action,
        "model_args": {"weights": weights, "offset": offset},
    }
    return fit_model(formula, design, pls, reml, start, notes=aliased_notes(design.aliased), **context)
