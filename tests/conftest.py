"""Shared fixtures: R reference values (copied from lme4 1.1-31 output) and the data they used."""

from __future__ import annotations

import json
from pathlib import Path

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
