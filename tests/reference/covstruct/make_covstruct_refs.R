## Reference fits of structured covariances (issue 30): glmmTMB 1.1.5, lme4 for us/diag.
## Run from the repository root:  Rscript tests/reference/covstruct/make_covstruct_refs.R
## sleepstudy is lme4::sleepstudy (the package dataset mixedmodels.datasets.load("sleepstudy")).
## Writes tests/reference/covstruct/<case>.json (the schema of the shared ML references) and
## tests/data/pois_ar1_generated.csv (simulated Poisson counts with an ar1 random effect).
suppressPackageStartupMessages({library(glmmTMB); library(lme4); library(jsonlite)})
out_dir <- "tests/reference/covstruct"
data_dir <- "tests/data"

median_seconds <- function(expr_fun, n = 5) {
  median(replicate(n, system.time(expr_fun())[["elapsed"]]))
}

varcorr_block <- function(fit) {
  vc <- VarCorr(fit)$cond
  lapply(names(vc), function(g) {
    m <- vc[[g]]
    list(group = g, terms = colnames(m), sd = unname(attr(m, "stddev")),
         cor = unname(attr(m, "correlation")))
  })
}

wald_block <- function(fit) {
  ci <- confint(fit, method = "wald", component = "cond")
  ci <- ci[!grepl("^theta_|^sigma$", rownames(ci)) | rownames(ci) == "sigma", , drop = FALSE]
  list(names = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]))
}

write_case <- function(case, data_file, df, formula, family = "gaussian", link = "identity",
                       REML = FALSE, factors, note = "", lme4_formula = NULL, profile = FALSE) {
  fam <- if (family == "gaussian") gaussian() else poisson(link = link)
  fitfun <- function() glmmTMB(as.formula(formula), data = df, family = fam, REML = REML)
  fit <- fitfun()
  secs <- median_seconds(fitfun)
  sm <- summary(fit)$coefficients$cond
  ll <- logLik(fit)
  ref <- list(
    case = case, data = data_file, engine = "glmmTMB 1.1.5", formula = formula,
    family = family, link = link, note = note, factors = I(factors),
    cond = list(names = rownames(sm), estimate = unname(sm[, 1]), se = unname(sm[, 2])),
    sigma = if (family == "gaussian") sigma(fit) else NULL,
    varcorr_cond = varcorr_block(fit),
    theta = unname(fit$fit$par[names(fit$fit$par) == "theta"]),
    loglik = as.numeric(ll), df = attr(ll, "df"), AIC = AIC(fit), nobs = nobs(fit),
    REML = REML, glmmTMB_seconds = secs,
    predict_response_head = unname(head(predict(fit, type = "response"), 10)),
    confint_wald = wald_block(fit),
    pdHess = fit$sdr$pdHess
  )
  ## standard errors at fixed theta (lme4's and ours for lmer): refit with theta mapped to its estimate
  th <- fit$fit$par[names(fit$fit$par) == "theta"]
  fit0 <- glmmTMB(as.formula(formula), data = df, family = fam, REML = REML,
                  start = list(theta = unname(th)), map = list(theta = factor(rep(NA, length(th)))))
  ref$cond$se_theta_fixed <- unname(summary(fit0)$coefficients$cond[, 2])
  if (profile) {
    ## profile intervals of the SD and rho (theta rows); glmmTMB names them theta_<term>.<k>
    npar <- length(fixef(fit)$cond)
    ci <- confint(fit, method = "profile", parm = "theta_")
    ref$confint_profile <- list(
      note = "glmmTMB confint(fit, method='profile', parm='theta_'): rows are the SD (exp of log-SD) and rho of ar1",
      names = c("sd_(ar1)|id", "rho_(ar1)|id"),
      glmmTMB_names = rownames(ci), theta_lower = unname(ci[, 1]), theta_upper = unname(ci[, 2]),
      lower = c(exp(ci[1, 1]), ci[2, 1] / sqrt(1 + ci[2, 1]^2)),
      upper = c(exp(ci[1, 2]), ci[2, 2] / sqrt(1 + ci[2, 2]^2)),
      scale = "lower/upper: SD = exp(theta_1); rho = theta_2 / sqrt(1 + theta_2^2)",
      caution = paste("glmmTMB's lower limit for rho (theta_2 = -12, rho = -0.9965) is wrong:",
                      "the profile deviance at rho = 0.45 is already 9.96 > 3.84; rho_by_refits holds",
                      "the limits found by refitting with rho fixed (theta_2 mapped) and uniroot"))
    ll0 <- as.numeric(ll)
    dev_at <- function(r) {
      f <- glmmTMB(as.formula(formula), data = df, family = fam, REML = REML,
                   start = list(theta = c(th[1], r / sqrt(1 - r^2))),
                   map = list(theta = factor(c(1, NA))))
      2 * (ll0 - as.numeric(logLik(f))) - qchisq(0.95, 1)
    }
    rho_hat <- th[2] / sqrt(1 + th[2]^2)
    ref$confint_profile$rho_by_refits <- c(
      uniroot(dev_at, c(0.2, rho_hat), tol = 1e-8)$root,
      uniroot(dev_at, c(rho_hat, 0.95), tol = 1e-8)$root)
  }
  if (!is.null(lme4_formula)) {
    lf <- function() lmer(as.formula(lme4_formula), data = df, REML = REML)
    lfit <- lf()
    vc <- as.data.frame(VarCorr(lfit))
    ref$lme4 <- list(formula = lme4_formula, loglik = as.numeric(logLik(lfit)),
                     fixef = as.list(fixef(lfit)),
                     se = as.list(sqrt(diag(as.matrix(vcov(lfit))))),
                     sigma = sigma(lfit),
                     varcorr = list(grp = vc$grp, var1 = vc$var1, var2 = vc$var2, sdcor = vc$sdcor),
                     seconds = median_seconds(lf))
  }
  writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE, na = "null"),
             file.path(out_dir, paste0(case, ".json")))
  cat(case, "loglik", as.numeric(ll), "seconds", secs, "\n")
}

long <- read.csv(file.path(data_dir, "long_ar1.csv"))
long$times <- factor(long$times); long$id <- factor(long$id)
csd <- read.csv(file.path(data_dir, "cs_generated.csv"))
csd$f <- factor(csd$f); csd$g <- factor(csd$g)
sleep <- lme4::sleepstudy

## (a) REML fits of the shared ML cases, plus (d) the profile intervals of the ML ar1 case
write_case("ar1_gaussian_reml", "long_ar1.csv", long, "y ~ time + ar1(times + 0 | id)",
           REML = TRUE, factors = c("times", "id"))
write_case("cs_gaussian_reml", "cs_generated.csv", csd, "y ~ f + cs(f + 0 | g)",
           REML = TRUE, factors = c("f", "g"))
write_case("diag_sleepstudy_reml", "sleepstudy.csv", sleep, "Reaction ~ Days + diag(Days | Subject)",
           REML = TRUE, factors = c("Subject"), lme4_formula = "Reaction ~ Days + (Days || Subject)")
write_case("us_sleepstudy_reml", "sleepstudy.csv", sleep, "Reaction ~ Days + us(Days | Subject)",
           REML = TRUE, factors = c("Subject"), lme4_formula = "Reaction ~ Days + (Days | Subject)")
write_case("ar1_gaussian_profile", "long_ar1.csv", long, "y ~ time + ar1(times + 0 | id)",
           REML = FALSE, factors = c("times", "id"), profile = TRUE,
           note = "the ML ar1 case again, with glmmTMB's profile intervals of the SD and rho")

## (b) Poisson GLMMs: simulated counts, 40 subjects x 6 times, ar1 random effect, log link
set.seed(20261208)
n_id <- 40; n_t <- 6; rho <- 0.6; s <- 0.5
R <- rho^abs(outer(0:(n_t - 1), 0:(n_t - 1), "-"))
L <- t(chol(s^2 * R))
b <- t(L %*% matrix(rnorm(n_t * n_id), n_t, n_id))
pois <- expand.grid(time = 0:(n_t - 1), id = sprintf("id%02d", 1:n_id))[, c("id", "time")]
pois$times <- as.character(pois$time)
pois$x <- round(rnorm(nrow(pois)), 4)
eta <- 0.5 + 0.1 * pois$time + 0.3 * pois$x + b[cbind(as.integer(factor(pois$id)), pois$time + 1)]
pois$y <- rpois(nrow(pois), exp(eta))
write.csv(pois, file.path(data_dir, "pois_ar1_generated.csv"), row.names = FALSE)
pois$times <- factor(pois$times); pois$id <- factor(pois$id)
write_case("ar1_poisson", "pois_ar1_generated.csv", pois, "y ~ time + x + ar1(times + 0 | id)",
           family = "poisson", link = "log", factors = c("times", "id"),
           note = "simulated: 40 ids x 6 times, ar1 rho 0.6, SD 0.5, seed 20261208")
write_case("cs_poisson", "pois_ar1_generated.csv", pois, "y ~ time + x + cs(times + 0 | id)",
           family = "poisson", link = "log", factors = c("times", "id"),
           note = "the simulated ar1 counts fitted with a heterogeneous compound symmetry")

## (c) homogeneous structures on the cs data. glmmTMB 1.1.5 has no homcs()/homdiag() (they came
## later), so the reference is the equivalent lme4 model (ML), written in the same schema:
##   homdiag(f + 0 | g) = (1 | g:f): one variance, independent effects;
##   homcs(f + 0 | g) = (1 | g) + (1 | g:f) when rho >= 0: SD^2 = s_g^2 + s_gf^2, rho = s_g^2 / SD^2.
write_equiv <- function(case, formula, lme4_formula, note) {
  lf <- function() lmer(as.formula(lme4_formula), data = csd, REML = FALSE)
  fit <- lf()
  secs <- median_seconds(lf)
  vc <- as.data.frame(VarCorr(fit))
  v_gf <- vc$vcov[vc$grp == "g:f"]
  v_g <- if (any(vc$grp == "g")) vc$vcov[vc$grp == "g"] else 0
  k <- nlevels(csd$f)
  sd <- sqrt(v_g + v_gf)
  cor <- matrix(v_g / (v_g + v_gf), k, k); diag(cor) <- 1
  ll <- logLik(fit)
  sm <- summary(fit)$coefficients
  ci <- confint(fit, method = "Wald")
  ci <- ci[!is.na(ci[, 1]), , drop = FALSE]
  ref <- list(
    case = case, data = "cs_generated.csv", engine = "lme4 (equivalent model)", formula = formula,
    family = "gaussian", link = "identity", note = note, factors = I(c("f", "g")),
    cond = list(names = rownames(sm), estimate = unname(sm[, 1]), se = unname(sm[, 2])),
    sigma = sigma(fit),
    varcorr_cond = list(list(group = "g", terms = paste0("f", levels(csd$f)), sd = rep(sd, k),
                             cor = if (v_g > 0) cor else NULL)),
    loglik = as.numeric(ll), df = attr(ll, "df"), AIC = AIC(fit), nobs = nobs(fit),
    REML = FALSE, glmmTMB_seconds = NULL, lme4_seconds = secs, lme4_formula = lme4_formula,
    confint_wald = list(names = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2])))
  writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, null = "null", pretty = TRUE, na = "null"),
             file.path(out_dir, paste0(case, ".json")))
  cat(case, "loglik", as.numeric(ll), "seconds", secs, "\n")
}
write_equiv("homcs_gaussian", "y ~ f + homcs(f + 0 | g)", "y ~ f + (1 | g) + (1 | g:f)",
            "glmmTMB 1.1.5 lacks homcs(); reference is lme4's (1|g)+(1|g:f), equal for rho >= 0")
write_equiv("homdiag_gaussian", "y ~ f + homdiag(f + 0 | g)", "y ~ f + (1 | g:f)",
            "glmmTMB 1.1.5 lacks homdiag(); reference is lme4's (1|g:f), the same model")
