# References for issue 29 (zero-inflation, hurdles, dispersion models): glmmTMB 1.1.5 (TMB 1.9.2)
# and nlme 3.1 on R 4.2.2 (Debian). Run from the repository root:
#   Rscript tests/reference/families/make_zi_refs.R
# It writes tests/data/{zi_gaussian_dispx,zi_binary}_generated.csv (generated here with a fixed
# seed) and tests/reference/families/zi_*.json, one glmmTMB fit each, in the schema of the shared
# families references (salamanders_zinb2.json, owls_nb1_zi.json, salamanders_hurdle_nb2.json,
# gaussian_dispformula.json, copied verbatim beside them; those four and hetero_generated.csv came
# from the coordinator's make_turn3.R, same glmmTMB), plus predict(type = "zprob") and
# predict(type = "conditional") heads and the mean and zero fraction of 200 simulate() draws.
suppressPackageStartupMessages({library(glmmTMB); library(nlme); library(jsonlite)})

ref_dir <- "tests/reference/families"
wjson <- function(x, name) {
  writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
             file.path(ref_dir, name))
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
vc_tmb <- function(vc) lapply(names(vc), function(g) { m <- vc[[g]]
  list(group = g, terms = I(colnames(m)), sd = I(unname(attr(m, "stddev"))),
       cor = if (is.null(attr(m, "correlation"))) NULL else unname(as.matrix(attr(m, "correlation")))) })
# median of 5 elapsed times of the whole glmmTMB() call
seconds5 <- function(f) median(sapply(1:5, function(i) system.time(f())[["elapsed"]]))

tmb_case <- function(case, data_file, d, formula, family, ziformula = ~0, dispformula = ~1, note = "", nlme_fit = NULL) {
  f <- function() glmmTMB(as.formula(formula), data = d, family = family, ziformula = ziformula, dispformula = dispformula)
  cat(case, "\n"); m <- f(); secs <- seconds5(f)
  fam <- stats::family(m)
  set.seed(29)
  # a binomial draw comes as a (successes, failures) matrix per column: keep the successes
  sims <- sapply(simulate(m, nsim = 200), function(s) if (is.matrix(s)) s[, 1] else s)
  out <- list(case = case, data = data_file, engine = "glmmTMB 1.1.5", formula = formula,
    ziformula = paste(deparse(ziformula), collapse = ""), dispformula = paste(deparse(dispformula), collapse = ""),
    family = fam$family, link = fam$link, note = note,
    factors = I(names(d)[sapply(d, is.factor)]),
    cond = blk(fixef(m)$cond, vcov(m)$cond), zi = blk(fixef(m)$zi, vcov(m)$zi), disp = blk(fixef(m)$disp, vcov(m)$disp),
    sigma = if (dispformula == ~1) sigma(m) else NULL,
    varcorr_cond = vc_tmb(VarCorr(m)$cond), theta = I(unname(getME(m, "theta"))),
    loglik = as.numeric(logLik(m)), df = attr(logLik(m), "df"), AIC = AIC(m), BIC = BIC(m), nobs = nobs(m),
    converged = m$fit$convergence == 0, pdHess = m$sdr$pdHess,
    fitted_head = head10(fitted(m)),
    predict_response_head = head10(predict(m, type = "response")),
    predict_cond_link_head = head10(predict(m, type = "link")),
    predict_population_response_head = head10(predict(m, type = "response", re.form = NA)),
    predict_zprob_head = head10(predict(m, type = "zprob")),
    predict_conditional_head = head10(predict(m, type = "conditional")),
    resid_pearson_quantiles = tryCatch(I(unname(quantile(residuals(m, type = "pearson")))), error = function(e) NULL),
    resid_pearson_note = if (anyNA(residuals(m, type = "pearson")))
      "glmmTMB 1.1.5 gives NA Pearson residuals for this model (a Gaussian dispersion model): no quantiles" else NULL,
    simulate_mean = mean(sims), simulate_zero_fraction = mean(sims == 0),
    simulate_note = "set.seed(29); simulate(fit, nsim = 200): mean and fraction of zeros over all draws (binomial: the successes)",
    glmmTMB_seconds = secs)
  ci <- confint(m, method = "wald")
  out$confint_wald <- list(names = I(rownames(ci)), lower = I(unname(ci[, 1])), upper = I(unname(ci[, 2])))
  if (!is.null(nlme_fit)) out$nlme <- nlme_fit
  wjson(out, paste0(case, ".json"))
  invisible(m)
}

## generated data (fixed seed), written once
set.seed(20261208)
gen_gauss_x <- function() {
  g <- factor(rep(sprintf("g%02d", 1:25), each = 12)); x <- rnorm(300)
  sd_e <- exp(0.5 * (-1 + 0.8 * x))  # log variance = -1 + 0.8 x
  data.frame(y = 1 + 0.5 * x + rnorm(25, 0, 0.7)[as.integer(g)] + rnorm(300, 0, sd_e), x = x, g = g)
}
gen_zi_binary <- function() {
  n <- 1200; g <- factor(rep(sprintf("s%02d", 1:40), each = 30)); x <- rnorm(n); z <- rnorm(n)
  p <- plogis(0.8 + 1.2 * x + rnorm(40, 0, 0.8)[as.integer(g)]); pz <- plogis(-1 + 1.5 * z)
  data.frame(y = as.integer(runif(n) > pz) * rbinom(n, 1, p), x = x, z = z, g = g)
}
if (!file.exists("tests/data/zi_gaussian_dispx_generated.csv"))
  write.csv(gen_gauss_x(), "tests/data/zi_gaussian_dispx_generated.csv", row.names = FALSE)
if (!file.exists("tests/data/zi_binary_generated.csv"))
  write.csv(gen_zi_binary(), "tests/data/zi_binary_generated.csv", row.names = FALSE)

sal <- read_data("salamanders.csv", c("site", "mined", "spp"))
owls <- read_data("owls.csv", c("Nest", "FoodTreatment", "SexParent"))
gx <- read_data("zi_gaussian_dispx_generated.csv", "g")
zb <- read_data("zi_binary_generated.csv", "g")

## a. zero-inflation with a covariate
tmb_case("zi_salamanders_zip_mined", "salamanders.csv", sal, "count ~ mined + (1 | site)", poisson, ziformula = ~mined,
         note = "zero-inflated Poisson, zi by mined")
tmb_case("zi_owls_zinb2_food", "owls.csv", owls, "SiblingNegotiation ~ FoodTreatment * SexParent + offset(log(BroodSize)) + (1 | Nest)",
         nbinom2, ziformula = ~FoodTreatment, note = "zero-inflated NB2 with an offset, zi by FoodTreatment")
## b. hurdle Poisson
tmb_case("zi_salamanders_hurdle_pois", "salamanders.csv", sal, "count ~ spp + mined + (1 | site)", truncated_poisson,
         ziformula = ~mined + cover, note = "hurdle Poisson: zi is P(count = 0), by mined and the continuous cover")
## c. dispersion models
lme_x <- lme(y ~ x, random = ~1 | g, weights = varExp(form = ~x), data = gx, method = "ML")
tmb_case("zi_gaussian_dispx", "zi_gaussian_dispx_generated.csv", gx, "y ~ x + (1 | g)", gaussian(), dispformula = ~x,
         note = "dispersion by a continuous covariate; glmmTMB's gaussian disp is log sigma^2 = 2 log sigma + 2 delta x, nlme's varExp(~x) (ML) is the same model",
         nlme_fit = list(call = "lme(y ~ x, random = ~1 | g, weights = varExp(form = ~x), method = 'ML')",
                         loglik = as.numeric(logLik(lme_x)), fixef = as.list(fixef(lme_x)), sigma = lme_x$sigma,
                         delta = unname(coef(lme_x$modelStruct$varStruct, unconstrained = FALSE)),
                         sd_g = as.numeric(VarCorr(lme_x)["(Intercept)", "StdDev"])))
tmb_case("zi_salamanders_nb2_dispmined", "salamanders.csv", sal, "count ~ spp + mined + (1 | site)", nbinom2, dispformula = ~mined,
         note = "NB2 with its size by mined: disp = log size per group")
## d. zero-inflated binomial, 0/1 response
tmb_case("zi_binary_zib", "zi_binary_generated.csv", zb, "y ~ x + (1 | g)", binomial(), ziformula = ~z,
         note = "zero-inflated Bernoulli: P(y = 1) = (1 - pi) p, identified by x in the conditional model and z in the zi model")
cat("done\n")
