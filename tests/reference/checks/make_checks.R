# References for mixedmodels' model checks (mm.r2, mm.icc, mm.check_overdispersion,
# mm.check_singularity, mm.compare_performance) from performance 0.10.2 (insight 0.19.0),
# lme4 1.1-31 and glmmTMB 1.1.5.
# Usage (from this folder): Rscript make_checks.R
# The four *_{binomial,poisson,nb2,slopes}.json beside this script are copies of the shared
# references made by make_turn3.R; this script adds the rest (checks_*.json) and the generated
# data (slopes_crossed.csv).
suppressPackageStartupMessages({library(lme4); library(glmmTMB); library(jsonlite); library(MASS); library(performance)})
wjson <- function(x, path) writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE), path)
rd <- function(f) { d <- read.csv(f, stringsAsFactors = TRUE); for (nm in names(d)) if (is.factor(d[[nm]]))
  d[[nm]] <- factor(as.character(d[[nm]]), levels = sort(unique(as.character(d[[nm]])))); d }
ss <- rd("sleepstudy.csv"); ss$Subject <- factor(ss$Subject)
cb <- rd("cbpp.csv"); cb$herd <- factor(cb$herd); cb$period <- factor(cb$period)
gt <- rd("grouseticks_nb.csv"); for (v in c("INDEX", "BROOD", "YEAR", "LOCATION")) gt[[v]] <- factor(gt[[v]])
sal <- rd("salamanders.csv"); pb <- rd("probit_binary.csv")

# random slopes with a second, crossed random term
set.seed(20261208)
g <- factor(sprintf("g%02d", rep(1:25, each = 16))); h <- factor(sprintf("h%02d", rep(1:16, times = 25)))
x <- round(runif(400, 0, 4), 3)
b <- MASS::mvrnorm(25, c(0, 0), matrix(c(1, 0.3 * 0.5, 0.3 * 0.5, 0.25), 2))
y <- round(2 + 0.8 * x + b[as.integer(g), 1] + b[as.integer(g), 2] * x + rnorm(16, 0, 0.7)[as.integer(h)] + rnorm(400, 0, 1), 4)
sc <- data.frame(y = y, x = x, g = g, h = h); write.csv(sc, "slopes_crossed.csv", row.names = FALSE)

vars <- function(m) { v <- suppressWarnings(insight::get_variance(m, verbose = FALSE))
  lapply(v[c("var.fixed", "var.random", "var.residual", "var.distribution", "var.dispersion")], function(z) if (is.null(z)) NULL else unname(z)) }
od <- function(m) tryCatch(unclass(check_overdispersion(m)), error = function(e) list(error = conditionMessage(e)))
case <- function(name, m, data, formula, family, kind, extra = list()) {
  cat(name, "\n")
  r2 <- suppressWarnings(r2(m)); ic <- tryCatch(suppressWarnings(icc(m)), error = function(e) NULL)
  mixed <- insight::is_mixed_model(m)
  out <- list(case = name, data = data, formula = formula, family = family, kind = kind,
    r2_conditional = if (mixed) unname(r2$R2_conditional) else NULL, r2_marginal = if (mixed) unname(r2$R2_marginal) else NULL,
    r2 = if (!mixed) unname(r2$R2) else NULL, r2_adjusted = if (!mixed) unname(r2$R2_adjusted) else NULL,
    icc_adjusted = if (is.null(ic) || all(is.na(ic))) NULL else ic$ICC_adjusted,
    icc_unadjusted = if (is.null(ic) || all(is.na(ic))) NULL else ic$ICC_unadjusted,
    variances = if (mixed) vars(m) else NULL, overdispersion = od(m),
    singular = if (mixed) check_singularity(m) else NULL,
    engine = "performance 0.10.2, insight 0.19.0")
  wjson(c(out, extra), paste0("checks_", name, ".json"))
  invisible(m)
}
m_sc <- lmer(y ~ x + (x | g) + (1 | h), sc)
case("slopes_crossed", m_sc, "slopes_crossed.csv", "y ~ x + (x | g) + (1 | h)", "gaussian", "lmer")
m_ss_int <- lmer(Reaction ~ Days + (1 | Subject), ss)
case("sleepstudy_intercept", m_ss_int, "sleepstudy.csv", "Reaction ~ Days + (1 | Subject)", "gaussian", "lmer")
m_pr <- glmer(y ~ x + (1 | g), pb, family = binomial(link = "probit"))
case("probit_bernoulli", m_pr, "probit_binary.csv", "y ~ x + (1 | g)", "binomial_probit", "glmer")
m_lo <- glmer(y ~ x + (1 | g), pb, family = binomial)
case("logit_bernoulli", m_lo, "probit_binary.csv", "y ~ x + (1 | g)", "binomial", "glmer")
m_cbp <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial(link = "probit"))
case("cbpp_probit", m_cbp, "cbpp.csv", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial_probit", "glmer")
m_nb <- glmer.nb(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION), gt)
case("grouseticks_glmer_nb", m_nb, "grouseticks_nb.csv", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", "negative_binomial", "glmer.nb")
m_olre <- glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX), gt, family = poisson)
case("grouseticks_olre", m_olre, "grouseticks_nb.csv", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX)", "poisson", "glmer",
     extra = list(note = "(1 | INDEX) has one level per row: insight counts its variance as var.dispersion, not var.random"))
m_nb1 <- glmmTMB(count ~ spp * mined + (1 | site), sal, family = nbinom1)
case("salamanders_nb1", m_nb1, "salamanders.csv", "count ~ spp * mined + (1 | site)", "nbinom1", "glmmTMB")
m_tp <- glmmTMB(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION), gt, family = poisson)
case("grouseticks_tmb_poisson", m_tp, "grouseticks_nb.csv", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", "poisson", "glmmTMB")
m_gp <- glm(TICKS ~ YEAR + cHEIGHT, gt, family = poisson)
case("grouseticks_glm_poisson", m_gp, "grouseticks_nb.csv", "TICKS ~ YEAR + cHEIGHT", "poisson", "glm")
m_gb <- glm(cbind(incidence, size - incidence) ~ period, cb, family = binomial)
case("cbpp_glm_binomial", m_gb, "cbpp.csv", "cbind(incidence, size - incidence) ~ period", "binomial", "glm")
m_lm <- lm(Reaction ~ Days, ss)
case("sleepstudy_lm", m_lm, "sleepstudy.csv", "Reaction ~ Days", "gaussian", "lm")
m_ss <- lmer(Reaction ~ Days + (Days | Subject), ss)
case("sleepstudy_uncorrelated", lmer(Reaction ~ Days + (Days || Subject), ss), "sleepstudy.csv", "Reaction ~ Days + (Days || Subject)", "gaussian", "lmer",
     extra = list(note = "insight 0.19.0 reads VarCorr by the factor's name: of Subject and Subject.1 only the first (the intercept) counts"))
case("sleepstudy_slope_not_fixed", lmer(Reaction ~ 1 + (Days | Subject), ss), "sleepstudy.csv", "Reaction ~ 1 + (Days | Subject)", "gaussian", "lmer",
     extra = list(note = "Days is not a column of X: insight leaves the slope out of the random variance"))

# singular fits: which terms are at the boundary (no group effect in the simulated data)
set.seed(1)
sg <- data.frame(g = factor(rep(sprintf("g%02d", 1:10), each = 5)), x = round(rnorm(50), 4)); sg$y <- round(1 + sg$x + rnorm(50), 4)
write.csv(sg, "singular.csv", row.names = FALSE)
sing <- function(m, formula) list(formula = formula, singular = check_singularity(m), isSingular = isSingular(m),
  theta = unname(getME(m, "theta")), lower = unname(getME(m, "lower")), theta_names = I(names(getME(m, "theta"))))
m_sg <- lmer(y ~ x + (1 | g), sg); m_sg2 <- lmer(y ~ x + (x | g), sg)
wjson(list(case = "singular", data = "singular.csv", fits = list(sing(m_sg, "y ~ x + (1 | g)"), sing(m_sg2, "y ~ x + (x | g)"),
  sing(m_ss, "Reaction ~ Days + (Days | Subject)"))), "checks_singular.json")

cmp <- function(name, ...) { cat(name, "\n"); cp <- suppressWarnings(compare_performance(...)); d <- as.data.frame(cp)
  wjson(list(case = name, columns = I(names(d)), table = d), paste0("checks_compare_", name, ".json")) }
cmp("sleepstudy", m_ss_int, m_ss, m_lm)
cmp("cbpp", glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial), m_cbp, m_gb)
cmp("grouseticks", glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION), gt, family = poisson), m_nb)
cat("done\n")

# the null model behind the Poisson distribution variance of grouseticks_poisson.json (its
# intercept gives mu0); lme4's null fit here sits at a Laplace deviance ours does not share
n_gp <- insight::null_model(glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION), gt, family = poisson))
wjson(list(case = "grouseticks_poisson_null", formula = "TICKS ~ (1 | BROOD) + (1 | LOCATION)", intercept = unname(fixef(n_gp)),
           loglik = as.numeric(logLik(n_gp)), theta = unname(getME(n_gp, "theta"))), "checks_null_grouseticks_poisson.json")
m_pb <- glmer(y ~ x + (1 | g), pb, family = binomial(link = "probit"))
wjson(list(probit_bernoulli_loglik = as.numeric(logLik(m_pb)), cbpp_binomial_loglik = as.numeric(logLik(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial))),
           cbpp_glm_AIC = AIC(m_gb)), "checks_logliks.json")
cat("done\n")

# lme4's default PIRLS tolerance (tolPwrss = 1e-7) leaves its Laplace deviance short by up to
# 0.007 here; with 1e-12 lme4's optimum is mixedmodels' (the null model, refitted by update(),
# keeps the control): these are the references at lme4's precise optimum
tight <- glmerControl(tolPwrss = 1e-12)
case("cbpp_binomial_tight", glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial, control = tight),
     "cbpp.csv", "cbind(incidence, size - incidence) ~ period + (1 | herd)", "binomial", "glmer", extra = list(control = "glmerControl(tolPwrss = 1e-12)"))
case("grouseticks_poisson_tight", glmer(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION), gt, family = poisson, control = tight),
     "grouseticks_nb.csv", "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", "poisson", "glmer", extra = list(control = "glmerControl(tolPwrss = 1e-12)"))
case("probit_bernoulli_tight", glmer(y ~ x + (1 | g), pb, family = binomial(link = "probit"), control = tight),
     "probit_binary.csv", "y ~ x + (1 | g)", "binomial_probit", "glmer", extra = list(control = "glmerControl(tolPwrss = 1e-12)"))
cat("done\n")
