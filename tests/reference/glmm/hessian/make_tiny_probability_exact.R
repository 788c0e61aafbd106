# The marginal likelihood of the tiny-probability data (issue 26) integrated independently of
# lme4: 60-node Gauss-Hermite quadrature about each group's mode with R's dbinom (accurate for
# tiny probabilities), minimized by Nelder-Mead from lme4's nAGQ = 9 optimum, SEs from
# numDeriv's Richardson Hessian of -2 log L over (theta, beta) (2 H^-1, as lme4's vcov).
# lme4's own nAGQ = 9 SEs rest on unit deviances that lose digits at tiny probabilities.
# Usage: Rscript make_tiny_probability_exact.R  (after make_tiny_probability.R; writes
# tiny_probability_exact.json)
suppressPackageStartupMessages({library(numDeriv); library(jsonlite)})
out <- list()
gh <- function(n) { # Golub-Welsch for probabilists' Hermite
  J <- matrix(0, n, n); for (i in 1:(n-1)) J[i, i+1] <- J[i+1, i] <- sqrt(i)
  e <- eigen(J, symmetric = TRUE); list(x = e$values, w = e$vectors[1, ]^2) }
q <- gh(60)
for (b in c("15","17")) {
d <- read.csv(paste0("../../../data/tiny_probability_", b, ".csv"))
gs <- split(seq_len(nrow(d)), d$g)
m2ll <- function(p) {
  theta <- abs(p[1]); fe <- p[2] + p[3] * d$x; tot <- 0
  for (ix in gs) {
    lf <- function(u) sapply(u, function(uu) sum(dbinom(d$k[ix], d$size[ix], plogis(fe[ix] + theta * uu), log = TRUE)) + dnorm(uu, log = TRUE))
    um <- optimize(function(u) -lf(u), c(-8, 8), tol = 1e-12)$minimum
    h <- 1e-4; c2 <- -(lf(um + h) - 2 * lf(um) + lf(um - h)) / h^2; s <- 1 / sqrt(c2)
    c0 <- lf(um)
    v <- sum(q$w * exp(lf(um + s * q$x) - c0 + q$x^2 / 2)) * s * sqrt(2 * pi)
    tot <- tot + c0 + log(v)
  }
  -2 * tot }
ref <- fromJSON("tiny_probability.json")[[paste0("intercept_", b)]]$agq9
p0 <- c(ref$theta, ref$fixef)
o <- optim(p0, m2ll, method = "Nelder-Mead", control = list(reltol = 1e-15, maxit = 3000, parscale = c(0.01, 0.01, 0.001)))
H <- hessian(m2ll, o$par); V <- 2 * solve(H)
out[[paste0("intercept_", b)]] <- list(theta = o$par[1], fixef = o$par[2:3], minus2loglik = o$value,
                                        se = unname(sqrt(diag(V))[2:3]))
cat(b, "-2ll", format(o$value, digits = 15), "at R's", format(m2ll(p0), digits = 15), "par", format(o$par, digits = 10), "se", format(sqrt(diag(V))[2:3], digits = 8), "\n")
}
writeLines(toJSON(out, digits = NA, pretty = TRUE, auto_unbox = TRUE), "tiny_probability_exact.json")
