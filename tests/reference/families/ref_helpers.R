# Shared helpers for the issue-28 family references (make_*.R in this folder).
# R 4.2.2, glmmTMB 1.1.5 (TMB 1.9.2), lme4 1.1-31, MASS 7.3-58.2, jsonlite 1.8.4 (Debian).
# Every script reads its data from tests/data/*.csv and is run from the repository root:
#   Rscript tests/reference/families/make_X.R
suppressPackageStartupMessages({library(glmmTMB); library(lme4); library(MASS); library(jsonlite)})

ref_dir <- "tests/reference/families"
wjson <- function(x, name) {
  write_json(x, file.path(ref_dir, name), digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = TRUE)
  cat("wrote", name, "\n")
}

# Character columns become factors with levels in code-point order (Python's sorted()).
read_data <- function(name, factors) {
  d <- read.csv(file.path("tests/data", name), stringsAsFactors = FALSE)
  for (f in factors) d[[f]] <- factor(as.character(d[[f]]), levels = sort(unique(as.character(d[[f]])), method = "radix"))
  d
}

head10 <- function(v) I(unname(as.numeric(head(v, 10))))
blk <- function(v, V) if (length(v)) list(names = I(names(v)), estimate = I(unname(v)),
  se = if (is.null(V)) NULL else I(unname(sqrt(diag(as.matrix(V)))))) else NULL
ci_list <- function(ci) list(names = I(rownames(ci)), lower = I(unname(ci[, 1])), upper = I(unname(ci[, 2])),
  estimate = if (ncol(ci) >= 3) I(unname(ci[, 3])) else NULL)
try_or_msg <- function(expr) tryCatch(expr, error = function(e) paste("R error:", conditionMessage(e)))
vc_tmb <- function(vc) lapply(names(vc), function(g) { m <- vc[[g]]
  list(group = g, terms = I(colnames(m)), sd = I(unname(attr(m, "stddev"))),
       cor = if (is.null(attr(m, "correlation"))) NULL else unname(as.matrix(attr(m, "correlation")))) })

# Warnings raised while fitting are kept (as text) in the JSON.
with_warnings <- function(expr) {
  w <- character(0)
  val <- withCallingHandlers(expr, warning = function(cnd) { w <<- c(w, conditionMessage(cnd)); invokeRestart("muffleWarning") })
  tab <- table(w); w <- if (length(w)) paste0(names(tab), " (x", as.integer(tab), ")") else character(0)
  list(value = val, warnings = w)
}

# Everything item 1 of the brief asks of one glmmTMB fit.
tmb_record <- function(case, data_file, m, formula, family_label = NULL, note = "", fit_warnings = character(0)) {
  fam <- stats::family(m)
  has_re <- length(m$modelInfo$reTrms$cond$flist) > 0
  vfull <- vcov(m, full = TRUE)
  list(case = case, data = data_file, engine = "glmmTMB 1.1.5", formula = formula,
    ziformula = paste(deparse(m$modelInfo$allForm$ziformula), collapse = ""),
    dispformula = paste(deparse(m$modelInfo$allForm$dispformula), collapse = ""),
    family = if (is.null(family_label)) fam$family else family_label, link = fam$link, note = note,
    fit_warnings = I(fit_warnings),
    cond = blk(fixef(m)$cond, vcov(m)$cond),
    disp = if (length(fixef(m)$disp)) list(names = I(names(fixef(m)$disp)), estimate = I(unname(fixef(m)$disp)),
      se = if ("d~(Intercept)" %in% colnames(vfull)) I(sqrt(vfull["d~(Intercept)", "d~(Intercept)"])) else NULL) else NULL,
    disp_note = paste("disp: fixef(fit)$disp on glmmTMB 1.1.5's log scale (se from vcov(fit, full = TRUE), row d~(Intercept));",
      "sigma(fit) is exp(disp) for nbinom1/nbinom2/truncated_nbinom2 (NB2: size theta; NB1: var = mu (1 + sigma)),",
      "exp(disp / 2) for gaussian (disp = log sigma^2), exp(-disp / 2) for Gamma (disp = log shape, sigma = 1 / sqrt(shape)),",
      "exp(disp) for beta (precision phi); 1 for poisson/binomial"),
    sigma = sigma(m),
    varcorr_cond = if (has_re) vc_tmb(VarCorr(m)$cond) else NULL,
    theta = if (has_re) I(unname(getME(m, "theta"))) else NULL,
    vcov_full = list(names = I(colnames(vfull)), matrix = unname(as.matrix(vfull))),
    loglik = as.numeric(logLik(m)), df = attr(logLik(m), "df"), AIC = AIC(m), BIC = BIC(m),
    df_residual = df.residual(m), nobs = nobs(m),
    converged = m$fit$convergence == 0, pdHess = m$sdr$pdHess,
    fitted_head = head10(fitted(m)),
    predict_cond_link_head = head10(predict(m, type = "link")),
    predict_response_head = head10(predict(m, type = "response")),
    predict_population_response_head = head10(predict(m, type = "response", re.form = NA)),
    resid_pearson_head = head10(residuals(m, type = "pearson")),
    resid_response_head = head10(residuals(m, type = "response")),
    resid_deviance_head = try_or_msg({ r <- residuals(m, type = "deviance"); head10(r) }),
    confint_wald = try_or_msg(ci_list(confint(m, method = "wald"))),
    confint_wald_full = try_or_msg(ci_list(confint(m, method = "wald", full = TRUE))))
}

tmb_fit <- function(formula, data, family, ...) {
  r <- with_warnings(glmmTMB(as.formula(formula), data = data, family = family, ...))
  if (length(r$warnings)) cat("  warnings:", r$warnings, sep = "\n    ")
  r
}
