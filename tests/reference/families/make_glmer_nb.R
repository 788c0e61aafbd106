# Item 3 of issue 28's reference sets: lme4's glmer.nb on grouseticks, a small fast case
# (TICKS ~ YEAR + (1 | BROOD)) and the large one (TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION),
# the same numbers as lme4_glmer_nb in the shared grouseticks_nb2.json), each beside glmer with
# MASS::negative.binomial(theta = glmer.nb's theta). Writes glmer_nb_grouseticks.json here.
# Usage (repository root): Rscript tests/reference/families/make_glmer_nb.R   (about a minute)
source("tests/reference/families/ref_helpers.R")
gt <- read_data("grouseticks_nb.csv", c("BROOD", "YEAR", "LOCATION"))

nb_case <- function(formula) {
  cat(formula, "\n")
  t0 <- proc.time()[["elapsed"]]
  r <- with_warnings(glmer.nb(as.formula(formula), data = gt))
  secs <- proc.time()[["elapsed"]] - t0
  m <- r$value; th <- getME(m, "glmer.nb.theta")
  k <- with_warnings(glmer(as.formula(formula), data = gt, family = MASS::negative.binomial(theta = th)))
  mk <- k$value
  dd <- glmer(as.formula(formula), data = gt, family = MASS::negative.binomial(theta = th), devFunOnly = TRUE)
  fresh <- -dd(c(getME(m, "theta"), fixef(m))) / 2
  list(formula = formula, engine = "lme4 1.1-31 glmer.nb", fit_warnings = I(r$warnings),
    fixef = blk(fixef(m), vcov(m)), theta_nb = th, theta = I(unname(getME(m, "theta"))),
    varcorr_sd = as.list(sapply(VarCorr(m), function(v) attr(v, "stddev"))),
    loglik = as.numeric(logLik(m)), df = attr(logLik(m), "df"), AIC = AIC(m), BIC = BIC(m), deviance = deviance(m),
    nobs = nobs(m), df_residual = df.residual(m), fitted_head = head10(fitted(m)), seconds = secs,
    summary_text = paste(capture.output(summary(m)), collapse = "\n"),
    glmer_known_theta = list(call = sprintf("glmer(%s, family = MASS::negative.binomial(theta = theta_nb))", formula),
      fit_warnings = I(k$warnings), fixef = blk(fixef(mk), vcov(mk)), theta = I(unname(getME(mk, "theta"))),
      loglik = as.numeric(logLik(mk)), df = attr(logLik(mk), "df"), loglik_difference_vs_glmer_nb = as.numeric(logLik(mk)) - as.numeric(logLik(m))),
    loglik_laplace_fresh_at_glmer_nb_estimates = fresh,
    loglik_laplace_fresh_note = paste("glmer's deviance function (negative.binomial(theta_nb), nAGQ = 1) evaluated afresh at glmer.nb's",
      "theta and fixef (PIRLS run again for the modes); glmer.nb's stored logLik comes from its last refit's saved state"))
}
small <- nb_case("TICKS ~ YEAR + (1 | BROOD)")
large <- nb_case("TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)")
wjson(list(case = "glmer_nb_grouseticks", data = "grouseticks_nb.csv",
  note = paste("glmer.nb alternates theta and glmer fits; its logLik counts theta as a parameter (df).",
    "glmer with negative.binomial(theta) holds theta fixed (lme4 still counts one extra df, as for any family other than binomial/poisson).",
    "Found here: the known-theta glmer logLik is about 1e-3 BELOW glmer.nb's stored logLik, and equals the Laplace",
    "evaluated afresh at glmer.nb's own estimates, so the 1e-3 is glmer.nb's stored state, not a different optimum"),
  small = small, large = large), "glmer_nb_grouseticks.json")
cat("done\n")
