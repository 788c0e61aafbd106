"""Shared fixtures: R reference values (copied from lme4 1.1-31 output) and the data they used."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixedmodels import datasets

REFERENCE = Path(__file__).parent / "reference"


def load_reference(case: str) -> dict:
    return json.loads((REFERENCE / f"{case}.json").read_text())


def reference_cases(kind: str) -> list[str]:
    """Names of the reference cases of one kind: "lmer" or "lm"."""
    cases = []
    for path in sorted(REFERENCE.glob("*.json")):
        ref = json.loads(path.read_text())
        if "case" in ref and ("coef" in ref) == (kind == "lm"):
            cases.append(ref["case"])
    return cases


def reference_data(ref: dict) -> pd.DataFrame:
    """The data set of a reference case, with R's factor columns as categoricals."""
    data = datasets.load(ref["data"].removesuffix(".csv"))
    for col in ref.get("factors") or []:
        data[col] = pd.Categorical(data[col].astype(str) if data[col].dtype == object else data[col])
    return data


@pytest.fixture
def seed():
    return datasets.load("seed")


@pytest.fixture(scope="module")
def cbpp() -> pd.DataFrame:
    """lme4's cbpp, herd and period as strings (tests/data/cbpp.csv)."""
    return pd.read_csv(Path(__file__).parent / "data" / "cbpp.csv", dtype={"herd": str, "period": str})


@pytest.fixture(scope="module")
def sal() -> pd.DataFrame:
    """glmmTMB's Salamanders (tests/data/salamanders.csv)."""
    return pd.read_csv(Path(__file__).parent / "data" / "salamanders.csv")


def dense_profiled_criterion(V: np.ndarray, X: np.ndarray, y: np.ndarray, reml: bool) -> float:
    """-2 log-likelihood (ML) or the REML criterion of ``y ~ N(X beta, sigma^2 V)`` from the
    dense ``V``, ``beta`` and ``sigma`` profiled out: what the blocked factor must reproduce."""
    n, p = X.shape
    C = np.linalg.cholesky(V)
    Xw, yw = np.linalg.solve(C, X), np.linalg.solve(C, y)
    beta = np.linalg.lstsq(Xw, yw, rcond=None)[0]
    rss = float(np.sum((yw - Xw @ beta) ** 2))
    logdet_V = 2.0 * np.sum(np.log(np.diag(C)))
    if not reml:
        return n * np.log(2 * np.pi * rss / n) + logdet_V + n
    nu = n - p
    return nu * np.log(2 * np.pi * rss / nu) + logdet_V + np.linalg.slogdet(Xw.T @ Xw)[1] + nu
