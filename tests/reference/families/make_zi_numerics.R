# glmmTMB 1.1.5's fits of tests/test_zero_inflation_numerics.py (issue 29) on tests/data/zi_numerics.csv
# (made by tests/data/make_zi_numerics.py): y ~ x + (1 | g) with zero-inflation, hurdle and
# dispersion models (two with prior weights). Stored per case: logLik, the conditional, zi and
# disp coefficients with their standard errors, the RE SD.
# Usage (repository root): Rscript tests/reference/families/make_zi_numerics.R  (a few seconds)
source("tests/reference/families/ref_helpers.R")
d <- read_data("zi_numerics.csv", c("g", "h", "f"))
cases <- list(
  zip = list("count", poisson(), ~z, ~1),
  zinb2 = list("count", nbinom2(), ~z, ~1),
  zinb1 = list("count", nbinom1(), ~z, ~1),
  zibinomial = list("binary", binomial(), ~z, ~1),
  hurdle_poisson = list("count", truncated_poisson(), ~z, ~1),
  hurdle_nb2 = list("count", truncated_nbinom2(), ~z, ~1),
  gaussian_disp_f = list("gauss", gaussian(), ~0, ~f),
  gaussian_disp_z = list("gauss", gaussian(), ~0, ~z),
  nb2_disp_f = list("count", nbinom2(), ~0, ~f),
  zinb2_disp_f = list("count", nbinom2(), ~z, ~f),
  zinb2_weights = list("count", nbinom2(), ~z, ~1, "wt"),
  hurdle_poisson_weights = list("count", truncated_poisson(), ~z, ~1, "wt"),
  zigaussian = list("gauss0", gaussian(), ~z, ~1),
  zigaussian_disp_f = list("gauss0", gaussian(), ~z, ~f),
  zinb1_disp_f = list("count", nbinom1(), ~z, ~f),
  hurdle_nb2_disp_f = list("count", truncated_nbinom2(), ~z, ~f)
)
out <- list()
for (name in names(cases)) {
  cc <- cases[[name]]
  dd <- d; dd$y <- dd[[cc[[1]]]]
  dd$w <- if (length(cc) > 4) dd[[cc[[5]]]] else 1
  r <- with_warnings(glmmTMB(y ~ x + (1 | g), data = dd, family = cc[[2]], ziformula = cc[[3]], dispformula = cc[[4]], weights = w))
  m <- r$value
  out[[name]] <- list(
    response = cc[[1]], family = cc[[2]]$family, ziformula = deparse(cc[[3]]), dispformula = deparse(cc[[4]]),
    loglik = as.numeric(logLik(m)), cond = I(unname(fixef(m)$cond)), zi = I(unname(fixef(m)$zi)),
    disp = I(unname(fixef(m)$disp)), sd = unname(attr(VarCorr(m)$cond$g, "stddev")),
    se = lapply(vcov(m), function(V) I(unname(sqrt(diag(as.matrix(V)))))),
    convergence = m$fit$convergence, warnings = I(r$warnings))
}
wjson(out, "zi_numerics.json")
