# glmmTMB 1.1.5 with prior weights (which multiply each row's log density) for the families of
# issue 28 in glmer: Gaussian(log), Gamma(log), beta(logit). Writes weighted_families.json here.
# Usage (repository root): Rscript tests/reference/families/make_weighted_families.R
suppressMessages({library(glmmTMB); library(jsonlite)})
weights_for <- function(n, seed) { set.seed(seed); round(runif(n, 0.5, 2), 3) }
one <- function(file, family, seed) {
  d <- read.csv(file.path("tests/data", file)); d$g <- factor(d$g)
  d$w <- weights_for(nrow(d), seed)
  m <- glmmTMB(y ~ x + (1 | g), d, family = family, weights = w)
  list(data = file, family = family$family, link = family$link, weight_seed = seed,
       weights = d$w, loglik = as.numeric(logLik(m)), fixef = unname(fixef(m)$cond),
       se = unname(sqrt(diag(vcov(m)$cond))), sigma = sigma(m))
}
out <- list(
  engine = paste("glmmTMB", packageVersion("glmmTMB")),
  cases = list(
    gaussian_log = one("gaussian_log_generated.csv", gaussian(link = "log"), 3),
    gamma_log = one("gamma_generated.csv", Gamma(link = "log"), 4),
    beta_logit = one("beta_generated.csv", beta_family(), 5)
  )
)
write_json(out, "tests/reference/families/weighted_families.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
