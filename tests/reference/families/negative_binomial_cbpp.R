# MASS negative.binomial(theta = 2) in glm and lme4 glmer on cbpp: tests/test_negative_binomial.py.
# R 4.2.2, lme4 1.1-31, MASS (Debian). Usage (from the repository root):
#   Rscript tests/reference/families/negative_binomial_cbpp.R > tests/reference/families/negative_binomial_cbpp.json
suppressMessages({library(lme4); library(MASS); library(jsonlite)})
d <- read.csv("src/mixedmodels/datasets/cbpp.csv"); d$herd <- factor(d$herd); d$period <- factor(d$period)
g <- glm(incidence ~ period, data = d, family = negative.binomial(2))
m <- glmer(incidence ~ period + (1 | herd), data = d, family = negative.binomial(2))
ms <- glmer(incidence ~ period + (1 | herd), data = d, family = negative.binomial(2, link = "sqrt"))
out <- list(
  glm = list(coef = unname(coef(g)), se = unname(sqrt(diag(vcov(g)))), deviance = deviance(g), null_deviance = g$null.deviance,
             aic = AIC(g), loglik = as.numeric(logLik(g)), dispersion = summary(g)$dispersion, family = family(g)$family),
  glmer = list(fixef = unname(fixef(m)), se = unname(sqrt(diag(as.matrix(vcov(m))))), theta = unname(getME(m, "theta")),
               loglik = as.numeric(logLik(m)), deviance = deviance(m)),
  glmer_sqrt = list(fixef = unname(fixef(ms)), se = unname(sqrt(diag(as.matrix(vcov(ms))))), theta = unname(getME(ms, "theta")),
               loglik = as.numeric(logLik(ms)))
)
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE))
