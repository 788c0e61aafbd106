# Item 2 of issue 28's reference sets: fixed-effects GLMs. MASS::glm.nb on Salamanders,
# glm Gamma (log, inverse) on gamma_generated.csv, glm gaussian(log) on gaussian_log_generated.csv
# (made by make_glmmtmb_more.R), and betareg on beta_generated.csv when betareg is installed.
# Writes glm_*.json here. Usage (repository root): Rscript tests/reference/families/make_glm_fixed.R
source("tests/reference/families/ref_helpers.R")
sal <- read_data("salamanders.csv", c("site", "mined", "spp"))
gam <- read_data("gamma_generated.csv", "g")
gau <- read_data("gaussian_log_generated.csv", "g")

glm_common <- function(m) {
  s <- summary(m)
  list(coef = blk(coef(m), vcov(m)), dispersion = s$dispersion, deviance = deviance(m), null_deviance = m$null.deviance,
    df_residual = df.residual(m), df_null = m$df.null, aic = AIC(m), bic = BIC(m), loglik = as.numeric(logLik(m)),
    loglik_df = attr(logLik(m), "df"), nobs = nobs(m), iter = m$iter, converged = m$converged,
    fitted_head = head10(fitted(m)), predict_link_head = head10(predict(m, type = "link")),
    resid_deviance_head = head10(residuals(m, type = "deviance")), resid_pearson_head = head10(residuals(m, type = "pearson")),
    resid_response_head = head10(residuals(m, type = "response")), resid_working_head = head10(residuals(m, type = "working")),
    confint_default = ci_list(confint.default(m)),
    summary_text = paste(capture.output(print(s)), collapse = "\n"))
}

## MASS::glm.nb
cat("glm.nb\n")
r <- with_warnings(glm.nb(count ~ spp * mined, data = sal))
m <- r$value
out <- c(list(case = "glm_salamanders_nb", data = "salamanders.csv", engine = "MASS 7.3-58.2 glm.nb", formula = "count ~ spp * mined",
  family = family(m)$family, link = family(m)$link, fit_warnings = I(r$warnings),
  theta = m$theta, SE_theta = m$SE.theta, twologlik = m$twologlik),
  glm_common(m))
pr <- with_warnings(confint(m))  # MASS's profile-likelihood intervals (theta held at its estimate)
out$confint_profile <- ci_list(pr$value); out$confint_profile_warnings <- I(pr$warnings)
out$confint_profile_note <- "MASS confint.glm (profile.glm over the coefficients; theta fixed at the fit's value)"
wjson(out, "glm_salamanders_nb.json")

## glm Gamma and gaussian(log)
glm_case <- function(name, data_file, d, formula, family, note = "") {
  cat(name, "\n")
  r <- with_warnings(glm(as.formula(formula), data = d, family = family))
  m <- r$value
  out <- c(list(case = name, data = data_file, engine = "stats::glm (R 4.2.2)", formula = formula, family = family(m)$family,
    link = family(m)$link, note = note, fit_warnings = I(r$warnings)), glm_common(m))
  pr <- with_warnings(confint(m)); out$confint_profile <- ci_list(pr$value); out$confint_profile_warnings <- I(pr$warnings)
  wjson(out, paste0(name, ".json"))
}
glm_case("glm_gamma_log", "gamma_generated.csv", gam, "y ~ x", Gamma(link = "log"),
  note = "dispersion: summary(fit)$dispersion (Pearson chi^2 / df.residual); AIC uses the deviance-based dispersion estimate (deviance / n)")
glm_case("glm_gamma_inverse", "gamma_generated.csv", gam, "y ~ x", Gamma(link = "inverse"))
glm_case("glm_gaussian_log", "gaussian_log_generated.csv", gau, "y ~ x", gaussian(link = "log"))

## betareg (optional)
if (requireNamespace("betareg", quietly = TRUE)) {
  cat("betareg\n")
  bet <- read_data("beta_generated.csv", "g")
  b <- betareg::betareg(y ~ x, data = bet)
  sb <- summary(b)
  wjson(list(case = "glm_betareg", data = "beta_generated.csv", engine = paste("betareg", packageVersion("betareg")), formula = "y ~ x",
    link = b$link$mean$name, coef = blk(coef(b, model = "mean"), vcov(b)[names(coef(b, model = "mean")), names(coef(b, model = "mean"))]),
    phi = unname(coef(b, model = "precision")), phi_se = unname(sb$coefficients$precision[1, 2]),
    loglik = as.numeric(logLik(b)), AIC = AIC(b), nobs = nobs(b), fitted_head = head10(fitted(b)),
    summary_text = paste(capture.output(print(sb)), collapse = "\n")), "glm_betareg.json")
} else cat("betareg is not installed: glm_betareg.json not written\n")
cat("done\n")
