# Item 1 of issue 28's reference sets: glmmTMB 1.1.5 ML fits beyond the shared ones
# (truncated Poisson / NB2, Gaussian with log and inverse links, Gamma inverse / identity,
# NB1 on grouseticks, Poisson and probit glmmTMB beside lme4's glmer, a fixed-effects-only NB2).
# Writes tmb_*.json here and tests/data/gaussian_log_generated.csv.
# Usage (repository root): Rscript tests/reference/families/make_glmmtmb_more.R
source("tests/reference/families/ref_helpers.R")

## simulated positive Gaussian data: 20 groups of 15, log-linear mean, additive normal error
set.seed(20261208)
g <- factor(rep(sprintf("g%02d", 1:20), each = 15)); x <- runif(300, -1, 1)
mu <- exp(1.5 + 0.4 * x + rnorm(20, 0, 0.3)[as.integer(g)])
y <- mu + rnorm(300, 0, 0.5); stopifnot(all(y > 0))
write.csv(data.frame(y = y, x = x, g = g), "tests/data/gaussian_log_generated.csv", row.names = FALSE)

sal <- read_data("salamanders.csv", c("site", "mined", "spp"))
salp <- sal[sal$count > 0, ]
gt <- read_data("grouseticks_nb.csv", c("BROOD", "YEAR", "LOCATION"))
gam <- read_data("gamma_generated.csv", "g")
gau <- read_data("gaussian_log_generated.csv", "g")
cb <- read_data("cbpp.csv", c("herd", "period"))

case <- function(name, data_file, d, formula, family, note = "", label = NULL, ...) {
  cat(name, "\n")
  r <- tmb_fit(formula, d, family, ...)
  out <- tmb_record(name, data_file, r$value, formula, family_label = label, note = note, fit_warnings = r$warnings)
  wjson(out, paste0(name, ".json"))
  invisible(list(out = out, m = r$value))
}

## a. truncated families on the positive Salamanders counts
sub_note <- "data: salamanders.csv rows with count > 0 (the subset, in file order)"
case("tmb_salamanders_truncpois", "salamanders.csv", salp, "count ~ spp + mined + (1 | site)", truncated_poisson(), sub_note)
case("tmb_salamanders_truncnb2", "salamanders.csv", salp, "count ~ spp + mined + (1 | site)", truncated_nbinom2(), sub_note)

## b. Gaussian with non-identity links
gau_note <- "simulated in this script (seed 20261208): y = exp(1.5 + 0.4 x + b_g) + N(0, 0.5^2), b_g ~ N(0, 0.3^2)"
case("tmb_gaussian_log", "gaussian_log_generated.csv", gau, "y ~ x + (1 | g)", gaussian(link = "log"), gau_note)
case("tmb_gaussian_inverse", "gaussian_log_generated.csv", gau, "y ~ x + (1 | g)", gaussian(link = "inverse"), gau_note)

## c. Gamma inverse and identity
# glmmTMB's default start (beta = 0) puts the mean at 1/0 (inverse) or 0 (identity): it stops with
# "negative log-likelihood is NaN at starting parameter values". The fits below start beta at
# glm's coefficients for the same link; the default start's refusal is kept in the JSON.
gamma_case <- function(name, link) {
  refusal <- try_or_msg({ glmmTMB(y ~ x + (1 | g), data = gam, family = Gamma(link = link)); "default start fits" })
  gw <- with_warnings(glm(y ~ x, data = gam, family = Gamma(link = link))); b0 <- coef(gw$value)
  r <- case(name, "gamma_generated.csv", gam, "y ~ x + (1 | g)", Gamma(link = link),
    note = paste0("started at beta = glm's coefficients (", paste(signif(b0, 10), collapse = ", "), "); default start: ", refusal),
    start = list(beta = unname(b0)))
  r$out$default_start <- refusal; r$out$start_beta <- I(unname(b0)); r$out$start_glm_warnings <- I(gw$warnings)
  wjson(r$out, paste0(name, ".json"))
}
gamma_case("tmb_gamma_inverse", "inverse")
gamma_case("tmb_gamma_identity", "identity")

## d. NB1 on grouseticks; Poisson and probit beside lme4's glmer
case("tmb_grouseticks_nb1", "grouseticks_nb.csv", gt, "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", nbinom1())

lme4_side <- function(mg) list(engine = "lme4 1.1-31 glmer (Laplace, nAGQ = 1)", fixef = blk(fixef(mg), vcov(mg)),
  theta = I(unname(getME(mg, "theta"))), varcorr_sd = I(unname(sapply(VarCorr(mg), function(v) attr(v, "stddev")))),
  loglik = as.numeric(logLik(mg)), AIC = AIC(mg), deviance = deviance(mg),
  fitted_head = head10(fitted(mg)))
p <- case("tmb_grouseticks_poisson", "grouseticks_nb.csv", gt, "TICKS ~ YEAR + cHEIGHT + (1 | BROOD)", poisson(),
  note = "log link is canonical for the Poisson: glmmTMB's Laplace (observed Hessian) and lme4's (expected) coincide")
mg <- glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD), data = gt, family = poisson)
p$out$lme4_glmer <- lme4_side(mg); p$out$loglik_difference_tmb_minus_lme4 <- p$out$loglik - as.numeric(logLik(mg))
wjson(p$out, "tmb_grouseticks_poisson.json")

pb <- case("tmb_cbpp_probit", "cbpp.csv", cb, "cbind(incidence, size - incidence) ~ period + (1 | herd)", binomial(link = "probit"),
  note = "probit is not canonical: glmmTMB's Laplace uses the observed Hessian, lme4's glmer the expected (Fisher) one, so optima and logLiks differ")
mb <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cb, family = binomial(link = "probit"))
pb$out$lme4_glmer <- lme4_side(mb); pb$out$loglik_difference_tmb_minus_lme4 <- pb$out$loglik - as.numeric(logLik(mb))
# lme4's estimates plugged into glmmTMB's (observed-Hessian) Laplace objective, for a like-for-like look
tm0 <- glmmTMB(cbind(incidence, size - incidence) ~ period + (1 | herd), data = cb, family = binomial(link = "probit"), doFit = FALSE)
ob <- TMB::MakeADFun(data = tm0$data.tmb, parameters = tm0$parameters, map = tm0$mapArg, random = "b", DLL = "glmmTMB", silent = TRUE)
pars <- ob$par; pars[names(pars) == "beta"] <- fixef(mb); pars[names(pars) == "theta"] <- log(getME(mb, "theta"))
pb$out$tmb_laplace_loglik_at_lme4_estimates <- -ob$fn(pars)
wjson(pb$out, "tmb_cbpp_probit.json")

## e. fixed effects only
case("tmb_salamanders_nb2_fixed", "salamanders.csv", sal, "count ~ spp * mined", nbinom2(),
  note = "no random term: the same model as MASS::glm.nb (see glm_salamanders_nb.json)")
cat("done\n")
