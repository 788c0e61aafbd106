# glmmTMB 1.1.5 fits of gaussian(log) and Gamma(log) GLMMs whose first stage (at the GLM's
# dispersion) is singular: sleepstudy's Reaction ~ Days + (Days | Subject) with the log link
# has a singular local optimum (logLik -889.917) below glmmTMB's interior maximum (-876.4056).
# Writes tmb_sleepstudy_gaussian_log.json (the full record, ref_helpers.R's tmb_record) and
# tmb_singular_starts.json (logLik, fixef, SDs, correlations, sigma of more such fits; a truly
# singular one, cbpp's nbinom2; two Gamma fits also from a given start).
# Data: lme4's sleepstudy (mixedmodels.datasets.load("sleepstudy") holds the same rows);
# tests/data/chickweight.csv, orthodont.csv, bodyweight.csv, cbpp.csv.
# Usage (repository root): Rscript tests/reference/families/make_gaussian_log_sleepstudy.R
source("tests/reference/families/ref_helpers.R")

sleep <- lme4::sleepstudy
sleep$Subject <- factor(as.character(sleep$Subject), levels = sort(unique(as.character(sleep$Subject)), method = "radix"))
main <- "Reaction ~ Days + (Days | Subject)"
r <- tmb_fit(main, sleep, gaussian(link = "log"))
out <- tmb_record("tmb_sleepstudy_gaussian_log", "sleepstudy", r$value, main, fit_warnings = r$warnings,
  note = paste("data: lme4::sleepstudy (mixedmodels.datasets.load('sleepstudy')); lme4's glmer(family =",
               "gaussian(link = 'log')) gives a singular fit, logLik -951.39 (its own Laplace): not the reference"))
out$factors <- I("Subject")
wjson(out, "tmb_sleepstudy_gaussian_log.json")

chick <- read_data("chickweight.csv", c("Chick", "Diet"))
orth <- read_data("orthodont.csv", c("Subject", "Sex"))
body <- read_data("bodyweight.csv", c("Rat", "Diet"))
cbpp <- read_data("cbpp.csv", c("herd", "period"))
# glmmTMB's default start stops at a singular point with no positive definite Hessian for these
# two Gamma fits; started at mixedmodels' estimates (rounded; theta: log SDs and the correlation's
# r / sqrt(1 - r^2)) it reaches a higher, interior maximum.
tmb_start <- function(beta, shape, sds, r) list(beta = beta, betad = log(shape), theta = c(log(sds), r / sqrt(1 - r^2)))
chick_start <- tmb_start(c(3.8151, 0.075526), 88.394, c(0.06410, 0.020412), -0.30468)
orth_start <- tmb_start(c(2.8730, 0.027285), 333.50, c(0.11001, 0.0083300), -0.63620)
brief <- function(name, data_file, d, formula, family, factors, start = NULL) {
  cat(name, "\n")
  r <- if (is.null(start)) tmb_fit(formula, d, family) else tmb_fit(formula, d, family, start = start)
  m <- r$value
  list(case = name, data = data_file, formula = formula, family = stats::family(m)$family,
       start = start,
       link = stats::family(m)$link, factors = I(factors), loglik = as.numeric(logLik(m)),
       objective_loglik = -m$fit$objective,
       fixef = I(unname(fixef(m)$cond)), fixef_names = I(names(fixef(m)$cond)),
       varcorr_cond = vc_tmb(VarCorr(m)$cond), sigma = sigma(m),
       converged = m$fit$convergence == 0, pdHess = m$sdr$pdHess, fit_warnings = I(r$warnings))
}
cases <- list(
  brief("sleepstudy_gaussian_log_intercept", "sleepstudy", sleep, "Reaction ~ Days + (1 | Subject)", gaussian(link = "log"), "Subject"),
  brief("sleepstudy_gamma_log_slopes", "sleepstudy", sleep, main, Gamma(link = "log"), "Subject"),
  brief("sleepstudy_gamma_log_intercept", "sleepstudy", sleep, "Reaction ~ Days + (1 | Subject)", Gamma(link = "log"), "Subject"),
  brief("chickweight_gaussian_log_slopes", "chickweight.csv", chick, "weight ~ Time + (Time | Chick)", gaussian(link = "log"), c("Chick", "Diet")),
  brief("chickweight_gamma_log_slopes", "chickweight.csv", chick, "weight ~ Time + (Time | Chick)", Gamma(link = "log"), c("Chick", "Diet")),
  brief("orthodont_gaussian_log_slopes", "orthodont.csv", orth, "distance ~ age + (age | Subject)", gaussian(link = "log"), c("Subject", "Sex")),
  brief("chickweight_gamma_log_slopes_started", "chickweight.csv", chick, "weight ~ Time + (Time | Chick)", Gamma(link = "log"), c("Chick", "Diet"), chick_start),
  brief("orthodont_gamma_log_slopes", "orthodont.csv", orth, "distance ~ age + (age | Subject)", Gamma(link = "log"), c("Subject", "Sex")),
  brief("orthodont_gamma_log_slopes_started", "orthodont.csv", orth, "distance ~ age + (age | Subject)", Gamma(link = "log"), c("Subject", "Sex"), orth_start),
  brief("cbpp_nbinom2_intercept", "cbpp.csv", cbpp, "incidence ~ period + (1 | herd)", nbinom2(), c("herd", "period")),
  brief("bodyweight_gaussian_log_slopes", "bodyweight.csv", body, "weight ~ Time + (Time | Rat)", gaussian(link = "log"), c("Rat", "Diet")),
  brief("bodyweight_gamma_log_slopes", "bodyweight.csv", body, "weight ~ Time + (Time | Rat)", Gamma(link = "log"), c("Rat", "Diet"))
)
names(cases) <- vapply(cases, function(x) x$case, "")
wjson(list(engine = "glmmTMB 1.1.5", note = paste("glmmTMB's default start; sd and cor from VarCorr(fit)$cond;",
  "logLik(fit) is NA where the Hessian is not positive definite: objective_loglik is -fit$fit$objective"), cases = cases),
      "tmb_singular_starts.json")
