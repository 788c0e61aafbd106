# R's family objects evaluated on fixed inputs: the reference for tests/test_families.py.
# Usage: Rscript make_families.R  (writes families.json beside it)
suppressPackageStartupMessages(library(jsonlite))
eta <- c(-40, -10, -3, -0.5, 0, 0.7, 2.5, 10, 40)
mu_b <- c(1e-12, 0.01, 0.2, 0.5, 0.8, 0.99, 1 - 1e-10)
y_b <- c(0, 0, 1, 0.5, 1, 0, 1)
wt_b <- c(1, 2, 3, 4, 1, 10, 1)
mu_p <- c(1e-8, 0.1, 1, 2.5, 10, 100)
y_p <- c(0, 1, 0, 3, 10, 90)
wt_p <- c(1, 2, 1, 1, 3, 1)
out <- list(eta = eta, binomial = list(mu = mu_b, y = y_b, wt = wt_b),
            poisson = list(mu = mu_p, y = y_p, wt = wt_p), links = list(), families = list())
for (lk in c("logit", "probit", "cloglog", "cauchit", "log")) {
  f <- binomial(link = lk)
  e <- if (lk == "log") -abs(eta) - 1e-3 else eta
  out$links[[paste0("binomial_", lk)]] <- list(eta = e, linkinv = f$linkinv(e), mu_eta = f$mu.eta(e),
                                                linkfun = f$linkfun(mu_b), valideta = f$valideta(e))
  out$families[[paste0("binomial_", lk)]] <- list(
    variance = f$variance(mu_b), dev_resids = f$dev.resids(y_b, mu_b, wt_b),
    aic = f$aic(y_b, 1, mu_b, wt_b, sum(f$dev.resids(y_b, mu_b, wt_b))))
}
for (lk in c("log", "sqrt", "identity")) {
  f <- poisson(link = lk)
  e <- if (lk == "log") eta / 10 else abs(eta) + 0.1
  out$links[[paste0("poisson_", lk)]] <- list(eta = e, linkinv = f$linkinv(e), mu_eta = f$mu.eta(e),
                                               linkfun = f$linkfun(mu_p), valideta = f$valideta(e))
  out$families[[paste0("poisson_", lk)]] <- list(
    variance = f$variance(mu_p), dev_resids = f$dev.resids(y_p, mu_p, wt_p),
    aic = f$aic(y_p, 1, mu_p, wt_p, sum(f$dev.resids(y_p, mu_p, wt_p))))
}
# initialize: mustart and the y / weights it leaves (binomial with proportions and trials; 0/1)
init_b <- function(y, weights) { nobs <- length(y); etastart <- NULL; mustart <- NULL; n <- NULL
  eval(binomial()$initialize); list(y = y, weights = weights, mustart = mustart, n = n) }
out$init_binomial_prop <- c(list(y_in = c(0, 0.25, 1, 0.5), wt_in = c(4, 4, 2, 2)), init_b(c(0, 0.25, 1, 0.5), c(4, 4, 2, 2)))
out$init_binomial_01 <- c(list(y_in = c(0, 1, 1, 0), wt_in = c(1, 1, 1, 1)), init_b(c(0, 1, 1, 0), c(1, 1, 1, 1)))
init_p <- function(y, weights) { nobs <- length(y); etastart <- NULL; mustart <- NULL
  eval(poisson()$initialize); list(mustart = mustart) }
out$init_poisson <- c(list(y_in = c(0, 1, 5, 2)), init_p(c(0, 1, 5, 2), rep(1, 4)))
# the binomial aic with trials: y as proportions, weights as trials
yb <- c(0, 0.25, 1, 0.5); nb <- c(4, 4, 2, 2); mb <- c(0.1, 0.3, 0.8, 0.5)
out$aic_trials <- list(y = yb, n = nb, mu = mb, aic = binomial()$aic(yb, nb, mb, nb, 0))
writeLines(toJSON(out, digits = NA, pretty = TRUE), "families.json")
