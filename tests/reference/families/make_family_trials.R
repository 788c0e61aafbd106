# References of tests/test_family_trials.py: fixed-effects fits that mm.glm got wrong or could
# not fit before the trial of issue 28 (MASS::glm.nb on a response without zeros and on
# non-integer counts; glmmTMB's nbinom1, beta and truncated_nbinom2 without random effects).
# Run from the repository root: Rscript tests/reference/families/make_family_trials.R
source("tests/reference/families/ref_helpers.R")

num <- function(v) I(unname(as.numeric(v)))
nb <- function(m) list(coef = num(coef(m)), theta = m$theta, loglik = as.numeric(logLik(m)))
tmb <- function(m) list(coef = num(fixef(m)$cond), se = num(sqrt(diag(vcov(m)$cond))), sigma = sigma(m),
  loglik = as.numeric(logLik(m)))

grouse <- read_data("grouseticks.csv", c("YEAR", "BROOD", "LOCATION"))
sal <- read_data("salamanders.csv", c("site", "mined", "spp"))
cbpp <- read_data("cbpp.csv", c("herd", "period"))
cbpp$p <- (cbpp$prop * (cbpp$size - 1) + 0.5) / cbpp$size  # squeezed into (0, 1)
sal$y <- sal$count + 0.3

tnb2 <- glmmTMB(count ~ mined, data = subset(sal, count > 0), family = truncated_nbinom2)
per_row <- function(m) list(response_head = head10(predict(m, type = "response")),
  fitted_head = head10(fitted(m)), pearson_head = head10(residuals(m, type = "pearson")),
  resid_response_head = head10(residuals(m, type = "response")))

anova_rows <- function(a, b) { t <- anova(a, b)
  list(npar = num(t$npar), loglik = num(t$logLik), chisq = t$Chisq[2], df = t$Df[2]) }

wjson(list(
  glm_nb_positive = c(formula = "TICKS ~ YEAR + cHEIGHT", note = "grouseticks, TICKS > 0",
    nb(glm.nb(TICKS ~ YEAR + cHEIGHT, data = subset(grouse, TICKS > 0)))),
  glm_nb_non_integer = c(formula = "y ~ mined", note = "salamanders, y = count + 0.3",
    nb(suppressWarnings(glm.nb(y ~ mined, data = sal)))),
  glm_nbinom1 = c(formula = "count ~ mined", tmb(glmmTMB(count ~ mined, data = sal, family = nbinom1))),
  glm_beta = c(formula = "p ~ period", tmb(glmmTMB(p ~ period, data = cbpp, family = beta_family()))),
  glm_truncated_nbinom2 = c(formula = "count ~ mined", note = "salamanders, count > 0",
    tmb(tnb2), per_row(tnb2)),
  anova_poisson_glmer_nb = c(formula = "count ~ mined + (1 | site)", anova_rows(
    glmer(count ~ mined + (1 | site), data = sal, family = poisson),
    glmer.nb(count ~ mined + (1 | site), data = sal)))
), "family_trials.json")
