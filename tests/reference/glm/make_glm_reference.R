# Reference values of R's glm for tests/test_glm.py (R 4.2, MASS's confint.glm).
# Usage (from the repository root): Rscript tests/reference/glm/make_glm_reference.R
# Each case is one JSON file beside this script; the data are CSVs in tests/data/.
suppressPackageStartupMessages({library(jsonlite); library(MASS)})
out_dir <- "tests/reference/glm"
data_dir <- "tests/data"

read_data <- function(name, factors) {
  d <- read.csv(file.path(data_dir, name))
  for (f in factors) {
    v <- d[[f]]
    d[[f]] <- if (is.numeric(v)) factor(v, levels = sort(unique(v))) else factor(v)
  }
  d
}
num <- function(x) I(unname(as.numeric(x)))
mat <- function(m) I(unname(lapply(seq_len(nrow(m)), function(i) as.numeric(m[i, ]))))

glm_case <- function(case, data, factors, formula, family, link = NULL, weights = NULL, offset = NULL,
                     contrasts = NULL, rows = NULL, profile = FALSE, predict_rows = 1:6) {
  d <- read_data(data, factors)
  if (!is.null(rows)) d <- d[rows, , drop = FALSE]
  fam <- if (is.null(link)) family else sprintf('%s(link = "%s")', family, link)
  args <- c(formula, paste("family =", fam), "data = data")
  if (!is.null(weights)) args <- c(args, paste("weights =", weights))
  if (!is.null(offset)) args <- c(args, paste("offset =", offset))
  if (!is.null(contrasts))
    args <- c(args, sprintf("contrasts = list(%s)",
                            paste(sprintf('%s = "%s"', names(contrasts), unlist(contrasts)), collapse = ", ")))
  env <- new.env(); env$data <- d
  m <- eval(parse(text = sprintf("glm(%s)", paste(args, collapse = ", "))), env)
  s <- summary(m)
  co <- coef(m)
  tab <- matrix(NA, length(co), 4, dimnames = list(names(co), NULL))
  tab[rownames(s$coefficients), ] <- s$coefficients
  quasi <- s$family$family %in% c("quasibinomial", "quasipoisson", "gaussian")
  out <- list(case = case, data = data, factors = factors, formula = formula, family = family, link = link,
              weights = weights, offset = offset, contrasts = contrasts, rows = rows,
              coef_names = I(names(co)), coef = num(co), se = num(tab[, 2]))
  out[[if (quasi) "t" else "z"]] <- num(tab[, 3])
  out$p <- num(tab[, 4])
  ll <- if (is.na(m$aic)) NA else as.numeric(logLik(m))
  out <- c(out, list(
    deviance = deviance(m), null_deviance = m$null.deviance, df_residual = m$df.residual, df_null = m$df.null,
    aic = m$aic, loglik = ll, bic = if (is.na(ll)) NA else BIC(m), dispersion = s$dispersion, iter = m$iter,
    nobs = nobs(m),
    vcov = mat(vcov(m)), fitted = num(fitted(m)), linear_predictor = num(m$linear.predictors),
    resid_deviance = num(residuals(m, "deviance")), resid_pearson = num(residuals(m, "pearson")),
    resid_response = num(residuals(m, "response")), resid_working = num(residuals(m, "working")),
    confint_wald = mat(confint.default(m)),
    summary_text = paste(capture.output(print(s)), collapse = "\n")))
  if (profile) out$confint_profile <- mat(suppressMessages(confint(m)))
  if (!is.null(predict_rows)) {
    nd <- d[predict_rows, , drop = FALSE]
    pl <- predict(m, newdata = nd, type = "link", se.fit = TRUE)
    pr <- predict(m, newdata = nd, type = "response", se.fit = TRUE)
    out <- c(out, list(predict_rows = I(predict_rows), predict_link = num(pl$fit), predict_link_se = num(pl$se.fit),
                       predict_response = num(pr$fit), predict_response_se = num(pr$se.fit),
                       residual_scale = pl$residual.scale))
  }
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
             file.path(out_dir, paste0(case, ".json")))
  cat(case, "ok\n")
  invisible(m)
}

cb <- c("herd", "period")
resp <- "cbind(incidence, size - incidence)"
glm_case("cbpp_probit", "cbpp.csv", cb, paste(resp, "~ period"), "binomial", "probit", profile = TRUE)
glm_case("cbpp_cloglog", "cbpp.csv", cb, paste(resp, "~ period"), "binomial", "cloglog", profile = TRUE)
glm_case("cbpp_cauchit", "cbpp.csv", cb, paste(resp, "~ period"), "binomial", "cauchit")
glm_case("cbpp_loglink", "cbpp.csv", cb, paste(resp, "~ period"), "binomial", "log")
glm_case("cbpp_logit_sum", "cbpp.csv", cb, paste(resp, "~ period + herd"), "binomial",
         contrasts = list(herd = "contr.sum"), profile = TRUE)
glm_case("cbpp_proportion_weights", "cbpp.csv", cb, "prop ~ period", "binomial", weights = "size")
glm_case("cbpp_quasibinomial", "cbpp.csv", cb, paste(resp, "~ period"), "quasibinomial", profile = TRUE)
glm_case("cbpp_small", "cbpp.csv", cb, paste(resp, "~ size"), "binomial", rows = 1:7, predict_rows = 1:3)
glm_case("cbpp_poisson_identity", "cbpp.csv", cb, "incidence ~ period", "poisson", "identity")
glm_case("cbpp_poisson_sqrt", "cbpp.csv", cb, "incidence ~ period + size", "poisson", "sqrt")
glm_case("cbpp_gaussian", "cbpp.csv", cb, "prop ~ period + size", "gaussian", profile = TRUE)
gt <- c("YEAR", "BROOD", "LOCATION")
glm_case("grouseticks_quasipoisson", "grouseticks.csv", gt, "TICKS ~ YEAR + cHEIGHT", "quasipoisson", profile = TRUE)
glm_case("grouseticks_aliased", "grouseticks.csv", gt, "TICKS ~ YEAR + HEIGHT + cHEIGHT", "poisson")
glm_case("poisson_offset", "poisson_offset.csv", "g", "count ~ x + offset(log(exposure))", "poisson", profile = TRUE)
glm_case("poisson_offset_argument", "poisson_offset.csv", "g", "count ~ x", "poisson", offset = "logexp")
glm_case("binary_probit", "probit_binary.csv", "g", "y ~ x", "binomial", "probit", profile = TRUE)
glm_case("binary_logit_no_intercept", "probit_binary.csv", "g", "y ~ 0 + x", "binomial")

# analysis of deviance, anova(m0, m1, test = "Chisq")
anova_case <- function(case, data, factors, formulas, family) {
  d <- read_data(data, factors)
  fits <- lapply(formulas, function(f) glm(as.formula(f), family = family, data = d))
  a <- do.call(anova, c(fits, list(test = "Chisq")))
  out <- list(case = case, data = data, factors = factors, formulas = I(formulas), family = family,
              resid_df = num(a[["Resid. Df"]]), resid_dev = num(a[["Resid. Dev"]]), df = num(a[["Df"]]),
              deviance = num(a[["Deviance"]]), p = num(a[["Pr(>Chi)"]]),
              text = paste(capture.output(print(a)), collapse = "\n"))
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
             file.path(out_dir, paste0(case, ".json")))
  cat(case, "ok\n")
}
anova_case("anova_cbpp", "cbpp.csv", cb, c(paste(resp, "~ 1"), paste(resp, "~ period"), paste(resp, "~ period + herd")),
           "binomial")
anova_case("anova_quasipoisson", "grouseticks.csv", gt, c("TICKS ~ YEAR", "TICKS ~ YEAR + cHEIGHT"), "quasipoisson")
