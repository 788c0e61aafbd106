# lme4's fits of the tiny-probability binomial data (issue 26), the reference for
# tests/test_glmm_hessian.py: fixef, SEs from vcov, theta, deviance, for Laplace and nAGQ = 9;
# glmmTMB's SEs beside them (its Hessian is from automatic derivatives); and the same for the
# data flipped (k -> size - k: probabilities near 1, where lme4's SEs are off by up to 8%).
# Usage: Rscript make_tiny_probability.R  (from this folder; writes tiny_probability.json)
suppressPackageStartupMessages({library(lme4); library(glmmTMB); library(jsonlite)})
one <- function(d, nAGQ) {
  m <- glmer(cbind(k, size - k) ~ x + (1 | g), data = d, family = binomial, nAGQ = nAGQ)
  list(fixef = unname(fixef(m)), se = unname(sqrt(diag(as.matrix(vcov(m))))),
       vcov = unname(as.matrix(vcov(m))), theta = unname(getME(m, "theta")),
       deviance = deviance(m), minus2loglik = -2 * as.numeric(logLik(m)),
       messages = m@optinfo$conv$lme4$messages)
}
tmb <- function(d) {
  m <- glmmTMB(cbind(k, size - k) ~ x + (1 | g), data = d, family = binomial)
  list(fixef = unname(fixef(m)$cond), se = unname(sqrt(diag(vcov(m)$cond))))
}
out <- list()
for (b in c("15", "17")) {
  d <- read.csv(file.path("..", "..", "..", "data", paste0("tiny_probability_", b, ".csv")))
  out[[paste0("intercept_", b)]] <- list(laplace = one(d, 1), agq9 = one(d, 9), glmmTMB = tmb(d))
  flipped <- transform(d, k = size - k)
  out[[paste0("flipped_", b)]] <- list(laplace = one(flipped, 1), glmmTMB = tmb(flipped))
}
writeLines(toJSON(out, digits = NA, pretty = TRUE, auto_unbox = TRUE), "tiny_probability.json")
