# Item 4a of issue 28's reference sets: likelihood-profile intervals for every parameter of two
# glmmTMB fits, NB2 `count ~ spp + mined + (1 | site)` on salamanders.csv and Gamma(log)
# `y ~ x + (1 | g)` on gamma_generated.csv.
#  * glmmTMB's own confint(fit, method = "profile", full = TRUE) (spline-interpolated profile),
#    labelled and scaled as glmmTMB reports them: fixed effects as they are, the dispersion as
#    "d~(Intercept)" on glmmTMB's log-dispersion scale, the RE SD as "theta_1|<group>.1" = log(SD).
#  * The same intervals found exactly here: uniroot (tol 1e-10) on the profiled deviance
#    2 (nll(v) - nll_min) = qchisq(0.95, 1), each nll(v) a nlminb refit of TMB's Laplace objective
#    with that parameter held at v. Both are also given on the natural scale (SD, sigma).
# Writes profile_salamanders_nb2.json and profile_gamma_log.json.
# Usage (repository root): Rscript tests/reference/families/make_profile.R
source("tests/reference/families/ref_helpers.R")
sal <- read_data("salamanders.csv", c("site", "mined", "spp"))
gam <- read_data("gamma_generated.csv", "g")

exact_profile <- function(m, level = 0.95) {
  obj <- m$obj; best <- m$fit$par; nll0 <- m$fit$objective; crit <- qchisq(level, 1)
  se <- sqrt(diag(m$sdr$cov.fixed))
  prof <- function(i, v) {
    f <- function(q) { p <- best; p[i] <- v; p[-i] <- q; obj$fn(p) }
    g <- function(q) { p <- best; p[i] <- v; p[-i] <- q; obj$gr(p)[-i] }
    start <- best[-i]
    r <- nlminb(start, f, g, control = list(rel.tol = 1e-12, x.tol = 1e-10, eval.max = 1000, iter.max = 1000))
    2 * (r$objective - nll0) - crit
  }
  res <- t(sapply(seq_along(best), function(i) {
    side <- function(dir) { step <- dir * se[i]; hi <- best[i] + step; k <- 0
      while (prof(i, hi) < 0 && k < 30) { hi <- hi + step; k <- k + 1 }
      lo <- best[i]; uniroot(function(v) prof(i, v), sort(c(lo, hi)), tol = 1e-10)$root }
    c(side(-1), side(1))
  }))
  nm <- names(best); nm[nm == "beta"] <- names(fixef(m)$cond); nm[nm == "betad"] <- "d~(Intercept)"
  nm[nm == "theta"] <- paste0("theta_1|", names(m$modelInfo$reTrms$cond$flist), ".1")
  list(names = I(nm), tmb_names = I(names(best)), lower = I(unname(res[, 1])), upper = I(unname(res[, 2])), estimate = I(unname(best)))
}

natural <- function(ci, fam) {  # natural scale: SD = exp(theta); sigma from glmmTMB's disp
  tr_d <- switch(fam, nbinom2 = function(d) exp(d), Gamma = function(d) exp(-d / 2))
  rows <- lapply(seq_along(ci$names), function(k) { n <- ci$names[k]; lo <- ci$lower[k]; hi <- ci$upper[k]
    if (grepl("^theta_", n)) c(sub("^theta_1\\|(.*)\\.1$", "Std.Dev.(Intercept)|\\1", n), exp(lo), exp(hi))
    else if (n == "d~(Intercept)") { v <- sort(tr_d(c(lo, hi))); c("sigma", v) } else NULL })
  rows <- do.call(rbind, rows[!sapply(rows, is.null)])
  list(names = I(rows[, 1]), lower = I(as.numeric(rows[, 2])), upper = I(as.numeric(rows[, 3])))
}

prof_case <- function(name, data_file, d, formula, family) {
  cat(name, "\n")
  m <- glmmTMB(as.formula(formula), data = d, family = family)
  fam <- stats::family(m)$family
  t0 <- proc.time()[["elapsed"]]
  gp <- with_warnings(confint(m, method = "profile", full = TRUE)); secs <- proc.time()[["elapsed"]] - t0
  g <- ci_list(gp$value)
  ex <- exact_profile(m)
  wjson(list(case = name, data = data_file, engine = "glmmTMB 1.1.5", formula = formula, family = fam, link = stats::family(m)$link,
    loglik = as.numeric(logLik(m)), fixef = as.list(fixef(m)$cond), disp = unname(fixef(m)$disp), sigma = sigma(m),
    re_sd = unname(attr(VarCorr(m)$cond[[1]], "stddev")),
    scale_note = paste("glmmTMB's confint(method = 'profile') reports the RE parameter as theta_1|group.1 = log(SD)",
      "and the dispersion as d~(Intercept) on its log scale (nbinom2: log theta = log sigma; Gamma: log shape = -2 log sigma);",
      "the *_natural blocks give SD and sigma (bounds sorted)"),
    confint_profile_glmmTMB = g, confint_profile_glmmTMB_warnings = I(gp$warnings), confint_profile_glmmTMB_seconds = secs,
    confint_profile_glmmTMB_natural = natural(g, fam),
    confint_profile_exact = ex, confint_profile_exact_natural = natural(ex, fam),
    max_abs_difference_glmmTMB_vs_exact = max(abs(c(g$lower - ex$lower, g$upper - ex$upper)))),
    paste0(name, ".json"))
}
prof_case("profile_salamanders_nb2", "salamanders.csv", sal, "count ~ spp + mined + (1 | site)", nbinom2())
prof_case("profile_gamma_log", "gamma_generated.csv", gam, "y ~ x + (1 | g)", Gamma(link = "log"))
cat("done\n")
