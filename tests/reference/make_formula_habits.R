# Reference values for formulas as R users write them (issue 14, part 2): factor(), as.factor(),
# ordered() in the fixed part and as a grouping factor, and data columns named like functions.
# Data: tests/data/cbpp_int.csv and tests/data/co2.csv (written by make_misc.R from lme4's cbpp and R's CO2).
# Usage (from the repository root): Rscript tests/reference/make_formula_habits.R
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
cb <- read.csv("tests/data/cbpp_int.csv")
co2 <- read.csv("tests/data/co2.csv", stringsAsFactors = TRUE)
# R's CO2 with columns named as functions and contrasts of formula libraries
clash <- data.frame(uptake = co2$uptake, Plant = co2$Plant, I = co2$Type, log = co2$Treatment,
                    C = co2$conc, Sum = co2$Type, center = co2$conc, np = co2$conc / 100)

# lme4 cannot evaluate (1 | factor(herd)) ("object 'herd' not found"): R fits (1 | herd), which
# groups by the levels of herd all the same, and python_formula is what the tests fit.
lmer_case <- function(formula, d, dataname, python_formula = formula) {
  m <- lmer(as.formula(formula), d)
  list(kind = "lmer", data = dataname, formula = formula, python_formula = python_formula, fixef_names = I(names(fixef(m))),
       fixef = I(unname(fixef(m))), se = I(unname(sqrt(diag(as.matrix(vcov(m)))))),
       loglik = as.numeric(logLik(m)))
}
lm_case <- function(formula, d, dataname) {
  m <- lm(as.formula(formula), d)
  co <- summary(m)$coefficients
  list(kind = "lm", data = dataname, formula = formula, python_formula = formula, fixef_names = I(rownames(co)),
       fixef = I(unname(co[, 1])), se = I(unname(co[, 2])), loglik = as.numeric(logLik(m)))
}
cases <- list(
  lmer_case("incidence ~ ordered(period) + size + (1 | herd)", cb, "cbpp_int",
            "incidence ~ ordered(period) + size + (1 | factor(herd))"),
  lmer_case("incidence ~ as.factor(period) + as.factor(period):size + (1 | herd)", cb, "cbpp_int",
            "incidence ~ as.factor(period) + as.factor(period):size + (1 | as.factor(herd))"),
  lm_case("incidence ~ factor(period) * size", cb, "cbpp_int"),
  lm_case("incidence ~ ordered(period) + factor(herd)", cb, "cbpp_int"),
  lmer_case("uptake ~ I * log + log(C) + (1 | Plant)", clash, "co2_clash"),
  lm_case("uptake ~ Sum + scale(center) + I(np^2) + C", clash, "co2_clash")
)
writeLines(toJSON(list(note = "made by make_formula_habits.R", lme4 = as.character(packageVersion("lme4")),
                       R = R.version.string, cases = cases),
                  auto_unbox = TRUE, digits = NA, pretty = TRUE),
           "tests/reference/misc/formula_habits.json")
cat("ok\n")
