"""Data sets shipped with the package, as lme4 and the seed question have them.

``load(name)`` returns a new DataFrame each call, with grouping columns as categoricals.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DESCRIPTIONS", "load", "names"]

DESCRIPTIONS = {
    "seed": "The seed question's simulation: y against x for 10 levels of p, 10 points each "
    "(y = -x + 10 + 2 p + noise); lmer(y ~ x + (1 | p)) and lm(y ~ x + p) disagree on the intercept's SE.",
    "sleepstudy": "lme4's sleepstudy: reaction times (ms) of 18 subjects over 10 days of sleep deprivation.",
    "dyestuff": "lme4's Dyestuff: yield of dyestuff from 6 batches of an intermediate, 5 preparations each.",
    "dyestuff2": "lme4's Dyestuff2: simulated data like Dyestuff whose batch variance is estimated as 0.",
    "penicillin": "lme4's Penicillin: growth-inhibition zone diameters, 24 plates crossed with 6 samples.",
    "pastes": "lme4's Pastes: paste strength, 3 casks nested in each of 10 batches, 2 assays each.",
    "cake": "lme4's cake: breakage angle of chocolate cakes by recipe, baking temperature and replicate.",
    "cbpp": "lme4's cbpp: new cases of contagious bovine pleuropneumonia (incidence) among the size "
    "zebu cattle of 15 herds in 4 periods; glmer(cbind(incidence, size - incidence) ~ period + (1 | herd)).",
    "insteval": "lme4's InstEval: 73,421 lecture ratings y (1-5) by students s of lecturers d in departments "
    "dept; service is 1 for a lecture outside the lecturer's main department.",
    "salamanders": "glmmTMB's Salamanders (Price et al. 2016, J. Appl. Ecol. 53): salamander counts (count) "
    "of 7 species or life stages (spp) in 4 surveys of 23 streams (site), some below mountaintop-removal "
    "coal mining (mined); cover and DOY (day of year) standardized. "
    "glmmTMB(count ~ spp * mined + (1 | site), family = nbinom2).",
    "long_ar1": "Simulated longitudinal data: 60 subjects (id) at 6 equally spaced visits (time, a number; "
    "times, the same visit as a factor), y with an AR(1) random effect per subject and visit "
    "(rho 0.6) and noise; lmer(y ~ time + ar1(times + 0 | id)).",
    "grouseticks": "lme4's grouseticks (Elston et al. 2001, Parasitology 122): ticks (TICKS) counted on "
    "403 red grouse chicks (INDEX) in 118 broods (BROOD) at 63 locations (LOCATION) in three years (YEAR), "
    "with the location's altitude (HEIGHT; cHEIGHT centred); glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + "
    "(1 | INDEX) + (1 | LOCATION), family = poisson).",
    "verbagg": "lme4's VerbAgg: 316 subjects' (id) responses to 24 items (item) on verbal aggression; "
    "r2 (Y/N) the dichotomized response, Anger the trait anger score, Gender, btype (curse, scold, "
    "shout), situ (other, self), mode (want, do). glmer(r2 ~ Anger + Gender + btype + situ + "
    "(1 | id) + (1 | item), family = binomial).",
    "blocks": "Simulated blocked data: 30 blocks (g) with observations under three treatments (f), "
    "treatment effects correlated within a block; lmer(y ~ f + cs(f + 0 | g)).",
}
_FACTORS = {
    "seed": ["p"],
    "sleepstudy": ["Subject"],
    "dyestuff": ["Batch"],
    "dyestuff2": ["Batch"],
    "penicillin": ["plate", "sample"],
    "pastes": ["batch", "cask", "sample"],
    "cake": ["replicate", "recipe"],
    "cbpp": ["herd", "period"],
    "insteval": ["s", "d", "dept"],
    "salamanders": ["site", "mined", "spp"],
    "long_ar1": ["id", "times"],
    "blocks": ["g", "f"],
    "grouseticks": ["INDEX", "BROOD", "YEAR", "LOCATION"],
    "verbagg": ["id", "item", "Gender", "btype", "situ", "mode", "r2"],
}


def names() -> list[str]:
    """Names of the shipped data sets."""
    return sorted(DESCRIPTIONS)


def load(name: str) -> pd.DataFrame:
    """Load a shipped data set by name (see :data:`DESCRIPTIONS`)."""
    import pandas as pd  # here, not at the top: the command line lists the names without pandas

    key = name.lower()
    if key not in DESCRIPTIONS:
        raise KeyError(f"no data set {name!r}; the shipped ones are: {', '.join(names())}")
    folder = resources.files(__name__)
    name = f"{key}.csv" if folder.joinpath(f"{key}.csv").is_file() else f"{key}.csv.gz"
    with folder.joinpath(name).open("rb") as fh:
        data = pd.read_csv(fh, compression="gzip" if name.endswith(".gz") else None)
    for col in _FACTORS[key]:
        data[col] = pd.Categorical(data[col])
    return data
