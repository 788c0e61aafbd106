# lme4's profile intervals (and profile traces) of glmer fits, for tests/test_glmer_profile.py.
# Usage (from the repository root): Rscript tests/reference/glmm/profile/make_profiles.R [CASE ...]
# Reads tests/data/*.csv and writes tests/reference/glmm/profile/CASE.json (lme4 1.1-31, R 4.2).
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
here <- "tests/reference/glmm/profile"
read_data <- function(file, factors) {
  d <- read.csv(file.path("tests/data", file))
  for (f in factors) d[[f]] <- factor(d[[f]])
  d
}
CASES <- list(
  cbpp_laplace = list(data = "cbpp.csv", factors = c("herd", "period"), family = binomial, nAGQ = 1,
                      formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"),
  cbpp_agq25 = list(data = "cbpp.csv", factors = c("herd", "period"), family = binomial, nAGQ = 25,
                    formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)"),
  poisson_offset_slopes = list(data = "poisson_offset.csv", factors = "g", family = poisson, nAGQ = 1,
                               formula = "count ~ x + offset(logexp) + (x | g)"),
  grouseticks_poisson = list(data = "grouseticks.csv", factors = c("YEAR", "BROOD", "INDEX", "LOCATION"),
                             family = poisson, nAGQ = 1,
                             formula = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)"),
  # 12 groups of 10 binary responses with a weak group effect (numpy seed 0): a singular fit
  binary_singular = list(data = "binary_singular.csv", factors = "g", family = binomial, nAGQ = 1,
                         formula = "y ~ x + (1 | g)")
)
profile_case <- function(name, cs) {
  d <- read_data(cs$data, cs$factors)
  m <- glmer(as.formula(cs$formula), data = d, family = cs$family, nAGQ = cs$nAGQ)
  warns <- character(0)
  t0 <- Sys.time()
  pr <- withCallingHandlers(profile(m, signames = FALSE),
                            warning = function(w) { warns <<- c(warns, conditionMessage(w)); invokeRestart("muffleWarning") })
  ci <- confint(pr)
  secs <- as.numeric(Sys.time() - t0, units = "secs")
  tab <- as.data.frame(pr)
  pars <- as.character(tab$.par)
  value <- vapply(seq_len(nrow(tab)), function(i) tab[[pars[i]]][i], numeric(1))
  out <- list(
    case = name, data = cs$data, factors = I(cs$factors), formula = cs$formula,
    family = stats::family(m)$family, nAGQ = cs$nAGQ,
    objective = unname(m@devcomp$cmp[["dev"]]), theta = I(unname(getME(m, "theta"))),
    fixef = I(unname(fixef(m))),
    confint_profile = list(names = I(rownames(ci)), lower = I(unname(ci[, 1])), upper = I(unname(ci[, 2]))),
    profile_seconds = secs, warnings = I(warns),
    trace = list(parameter = I(pars), value = I(value), zeta = I(tab$.zeta)))
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
             file.path(here, paste0(name, ".json")))
  cat(name, "profile + confint", secs, "s\n")
}
which <- commandArgs(TRUE)
if (!length(which)) which <- names(CASES)
for (name in which) profile_case(name, CASES[[name]])
