# References of tests/test_glm_families.py: MASS::glm.nb (Salamanders `count ~ spp * mined`,
# grouseticks `TICKS ~ YEAR + cHEIGHT`, Salamanders `count ~ mined + cover` with link = sqrt), glmmTMB's fixed-effects-only nbinom2 fit of the same
# models (the joint maximum likelihood, its Hessian over (beta, log theta)), and
# stats::glm(family = Gamma(link = "log" | "inverse")) on gamma_generated.csv.
# The data frame is called `data` so that the printed calls read as mm.glm prints them.
# R 4.2.2, MASS 7.3-58.2, glmmTMB 1.1.5, jsonlite 1.8.4.
# Usage (repository root): Rscript tests/reference/families/make_glm_families.R
suppressPackageStartupMessages({library(MASS); library(glmmTMB); library(jsonlite)})
ref_dir <- "tests/reference/families"
wjson <- function(x, name) {
  write_json(x, file.path(ref_dir, name), digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = TRUE)
  cat("wrote", name, "\n")
}
read_data <- function(name, factors) {
  d <- read.csv(file.path("tests/data", name), stringsAsFactors = FALSE)
  for (f in factors) d[[f]] <- factor(as.character(d[[f]]), levels = sort(unique(as.character(d[[f]])), method = "radix"))
  d
}
num <- function(v) I(unname(as.numeric(v)))
text_of <- function(x) I(capture.output(print(x)))
resid_quantiles <- function(m) num(quantile(residuals(m, type = "deviance")))

nb_case <- function(name, data_file, factors, formula, link = NULL) {
  data <- read_data(data_file, factors)
  m <- if (is.null(link)) eval(bquote(glm.nb(.(as.formula(formula)), data = data)))
       else eval(bquote(glm.nb(.(as.formula(formula)), data = data, link = .(as.name(link)))))
  s <- summary(m)
  tmb <- glmmTMB(as.formula(formula), data = data, family = nbinom2(link = if (is.null(link)) "log" else link))
  V <- vcov(tmb, full = TRUE)
  list(case = name, data = data_file, factors = I(factors), formula = formula, link = if (is.null(link)) NULL else link,
    glm_nb = list(names = I(names(coef(m))), coef = num(coef(m)), se = num(sqrt(diag(vcov(m)))),
      theta = m$theta, SE_theta = m$SE.theta, twologlik = m$twologlik, deviance = deviance(m),
      null_deviance = m$null.deviance, df_residual = df.residual(m), df_null = m$df.null, aic = AIC(m),
      bic = BIC(m), loglik = as.numeric(logLik(m)), loglik_df = attr(logLik(m), "df"), iter = m$iter,
      family = family(m)$family, fitted = num(fitted(m)),
      resid_deviance = num(residuals(m, type = "deviance")), resid_pearson = num(residuals(m, type = "pearson")),
      resid_response = num(residuals(m, type = "response")), resid_working = num(residuals(m, type = "working")),
      summary_text = text_of(s)),
    glmmtmb = list(coef = num(fixef(tmb)$cond), log_theta = unname(fixef(tmb)$disp), vcov_full = unname(as.matrix(V)),
      vcov_names = I(colnames(V)), loglik = as.numeric(logLik(tmb)), aic = AIC(tmb)))
}
wjson(nb_case("glm_nb_salamanders", "salamanders.csv", c("site", "mined", "spp"), "count ~ spp * mined"),
  "glm_nb_salamanders.json")
wjson(nb_case("glm_nb_grouseticks", "grouseticks.csv", c("YEAR", "BROOD", "LOCATION"), "TICKS ~ YEAR + cHEIGHT"),
  "glm_nb_grouseticks.json")
wjson(nb_case("glm_nb_salamanders_sqrt", "salamanders.csv", c("site", "mined", "spp"), "count ~ mined + cover", "sqrt"),
  "glm_nb_salamanders_sqrt.json")

gamma_case <- function(link) {
  data <- read_data("gamma_generated.csv", "g")
  m <- eval(bquote(glm(y ~ x, family = Gamma(link = .(link)), data = data)))
  s <- summary(m)
  list(link = link, names = I(names(coef(m))), coef = num(coef(m)), se = num(sqrt(diag(vcov(m)))),
    dispersion = s$dispersion, deviance = deviance(m), null_deviance = m$null.deviance,
    df_residual = df.residual(m), aic = AIC(m), bic = BIC(m), loglik = as.numeric(logLik(m)),
    loglik_df = attr(logLik(m), "df"), iter = m$iter, resid_quantiles = resid_quantiles(m),
    fitted_head = num(head(fitted(m), 10)), summary_text = text_of(s))
}
wjson(list(case = "glm_gamma", data = "gamma_generated.csv", formula = "y ~ x",
  note = "dispersion: Pearson chi^2 / df.residual (t tests); AIC and logLik with the dispersion estimated by deviance / n, as R's Gamma()$aic",
  log = gamma_case("log"), inverse = gamma_case("inverse")), "glm_gamma.json")
