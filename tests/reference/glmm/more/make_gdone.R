# More GLMM reference cases from lme4's glmer (lme4 1.1-31, R 4.2, mlmRev, MASS): the data sets of
# the GLMM literature (guImmun, epil), a simulated crossed binary model with random slopes, the
# links not covered by make_glmm.R (binomial cloglog and cauchit, Poisson sqrt), nAGQ = 0 fits,
# predictions on new data, likelihood-ratio tests (anova) and a weighted summary.
# Usage (from this folder): Rscript make_gdone.R
# Writes ../../../data/NAME.csv (tests/data) and CASE.json here. Every model is fitted to the CSV as read back,
# so the tests fit exactly the same numbers. Factor levels are in sorted order.
suppressPackageStartupMessages({library(lme4); library(jsonlite); library(mlmRev); library(MASS)})
data_dir <- file.path("..", "..", "..", "data")

relevel_sorted <- function(d) {
  for (nm in names(d)) if (is.factor(d[[nm]]) || is.character(d[[nm]]))
    d[[nm]] <- factor(as.character(d[[nm]]), levels = sort(unique(as.character(d[[nm]]))))
  d
}
# write the CSV, read it back, and make the named columns factors (as the tests do)
save_read <- function(d, name, factors, write = TRUE) {
  path <- file.path(data_dir, paste0(name, ".csv"))
  if (write) write.csv(d, path, row.names = FALSE)
  back <- read.csv(path, colClasses = setNames(rep("character", length(factors)), factors))
  for (f in factors) back[[f]] <- factor(back[[f]], levels = sort(unique(back[[f]])))
  back
}
write_json_case <- function(out, case) {
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE, null = "null"),
             paste0(case, ".json"))
  cat(case, "ok\n")
}

# the numbers of one fit (the fields of make_glmm.R's cases, with every fitted value)
fit_values <- function(m) {
  s <- summary(m); co <- s$coefficients
  vc <- as.data.frame(VarCorr(m))
  re <- ranef(m, condVar = TRUE)
  ranef_out <- lapply(names(re), function(g) {
    r <- re[[g]]; pv <- attr(r, "postVar"); if (!is.list(pv)) pv <- list(pv)
    condsd <- list()
    for (a in pv) for (k in seq_len(dim(a)[1])) condsd[[length(condsd) + 1]] <- I(unname(sqrt(a[k, k, ])))
    list(group = g, levels = I(rownames(r)), terms = I(colnames(r)),
         values = lapply(colnames(r), function(cn) I(unname(r[[cn]]))), condsd = condsd)
  })
  fam <- stats::family(m)
  list(
    family = fam$family, link = fam$link, nAGQ = m@devcomp$dims[["nAGQ"]],
    fixef_names = I(names(fixef(m))), fixef = I(unname(fixef(m))),
    se = I(unname(co[, "Std. Error"])), z = I(unname(co[, 3])), p = I(unname(co[, 4])),
    vcov = unname(as.matrix(vcov(m))),
    theta = I(unname(getME(m, "theta"))), theta_names = I(names(getME(m, "theta"))),
    varcorr = lapply(seq_len(nrow(vc)), function(i) list(grp = vc$grp[i], var1 = vc$var1[i], var2 = vc$var2[i], vcov = vc$vcov[i], sdcor = vc$sdcor[i])),
    loglik = as.numeric(logLik(m)), df = attr(logLik(m), "df"), AIC = AIC(m), BIC = BIC(m),
    deviance = deviance(m), objective = unname(m@devcomp$cmp[["dev"]]),
    df_residual = df.residual(m), nobs = nobs(m), ngrps = as.list(ngrps(m)), singular = isSingular(m),
    ranef = ranef_out,
    fitted = I(unname(fitted(m))),
    predict_link_head = I(unname(head(predict(m, type = "link"), 10))),
    predict_fixed_response_head = I(unname(head(predict(m, re.form = NA, type = "response"), 10))),
    resid_deviance_quantiles = I(unname(quantile(residuals(m, type = "deviance")))),
    resid_pearson_quantiles = I(unname(quantile(residuals(m, type = "pearson")))),
    messages = I(c(m@optinfo$conv$lme4$messages, m@optinfo$warnings)),
    summary_text = paste(capture.output(print(s)), collapse = "\n"))
}

# with tight = TRUE also a refit with PIRLS converged (tolPwrss 1e-12; lme4's default 1e-7 leaves
# the Laplace criterion of these models up to 0.004 above its converged value) and bobyqa alone run
# to a small trust region (rhoend 1e-9): the converged criterion's optimum, which mm.glmer finds
TIGHT <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-9, maxfun = 1e5))
glmm_case <- function(case, dataname, d, formula, family, nAGQ = 1, note = "", factors = character(0),
                      tight = FALSE) {
  t0 <- Sys.time()
  m <- glmer(as.formula(formula), data = d, family = family, nAGQ = nAGQ)
  secs <- as.numeric(Sys.time() - t0, units = "secs")
  out <- c(list(case = case, data = paste0(dataname, ".csv"), formula = formula, weights = NULL, note = note,
                factors = I(factors)), fit_values(m), list(lme4_seconds = secs))
  out$nAGQ <- nAGQ
  if (tight) {
    mt <- glmer(as.formula(formula), data = d, family = family, nAGQ = nAGQ, control = TIGHT)
    vt <- as.data.frame(VarCorr(mt))
    out$tight <- list(control = "glmerControl(optimizer = 'bobyqa', tolPwrss = 1e-12, optCtrl = list(rhoend = 1e-9, maxfun = 1e5))",
                      fixef = I(unname(fixef(mt))), se = I(unname(sqrt(diag(as.matrix(vcov(mt)))))),
                      theta = I(unname(getME(mt, "theta"))), sdcor = I(vt$sdcor), var2 = I(vt$var2),
                      loglik = as.numeric(logLik(mt)), deviance = deviance(mt),
                      messages = I(c(mt@optinfo$conv$lme4$messages, mt@optinfo$warnings)))
  }
  list(model = m, out = out)
}

# ---------------- guImmun: immunization in Guatemala (Rodriguez & Goldman), 2159 children
gu <- relevel_sorted(as.data.frame(guImmun))
gu_f <- c("kid", "mom", "comm", "immun", "kid2p", "mom25p", "ord", "ethn", "momEd", "husEd", "momWork", "rural")
gu <- save_read(gu, "guimmun", gu_f)
r <- glmm_case("guimmun", "guimmun", gu,
               "immun ~ kid2p + mom25p + ord + ethn + momEd + husEd + momWork + rural + pcInd81 + (1 | mom) + (1 | comm)",
               binomial, factors = gu_f, tight = TRUE, note = "the full model of the GLMM literature: 1595 mothers within 161 communities; immun N/Y (N failure)")
write_json_case(r$out, "guimmun")

# ---------------- epil: seizure counts (Thall & Vail), observation-level random effect
ep <- as.data.frame(epil); ep$obs <- seq_len(nrow(ep))
ep <- relevel_sorted(ep)
ep_f <- c("trt", "subject", "obs")
ep <- save_read(ep, "epil", ep_f)
r <- glmm_case("epil", "epil", ep, "y ~ lbase * trt + lage + V4 + (1 | subject) + (1 | obs)", poisson, tight = TRUE,
               factors = ep_f, note = "obs: one level per row (overdispersion)")
write_json_case(r$out, "epil")
epil_m1 <- r$model
r0 <- glmm_case("epil_nagq0", "epil", ep, "y ~ lbase * trt + lage + V4 + (1 | subject) + (1 | obs)", poisson,
                nAGQ = 0, factors = ep_f, note = "nAGQ = 0: fixed effects inside PIRLS")
write_json_case(r0$out, "epil_nagq0")

# ---------------- simulated crossed binary model with correlated random slopes, 40 x 20
set.seed(20240517)
ns <- 40; ni <- 20
cr <- expand.grid(item = sprintf("i%02d", 1:ni), subject = sprintf("s%02d", 1:ns), stringsAsFactors = FALSE)
cr$x <- round(rnorm(nrow(cr)), 4)
bs <- MASS::mvrnorm(ns, c(0, 0), matrix(c(0.8, 0.2, 0.2, 0.3), 2))
bi <- rnorm(ni, sd = 0.6)
si <- match(cr$subject, sprintf("s%02d", 1:ns)); ii <- match(cr$item, sprintf("i%02d", 1:ni))
cr$y <- rbinom(nrow(cr), 1, plogis(-0.3 + 0.7 * cr$x + bs[si, 1] + bs[si, 2] * cr$x + bi[ii]))
cr <- save_read(cr[, c("y", "x", "subject", "item")], "crossed_binary", c("subject", "item"))
r <- glmm_case("crossed_binary_slopes", "crossed_binary", cr, "y ~ x + (x | subject) + (1 | item)", binomial,
               factors = c("subject", "item"), tight = TRUE, note = "simulated (set.seed(20240517)): 40 subjects x 20 items, correlated random slopes")
m <- r$model
nd <- data.frame(x = c(-1.5, 0, 0.5, 2, 1, -0.25), subject = c("s01", "s07", "s40", "new1", "s13", "new2"),
                 item = c("i01", "i20", "new", "i05", "new", "new"))
r$out$newdata <- nd
r$out$predict_new_link <- I(unname(predict(m, newdata = nd, type = "link", allow.new.levels = TRUE)))
r$out$predict_new_response <- I(unname(predict(m, newdata = nd, type = "response", allow.new.levels = TRUE)))
r$out$predict_new_fixed_link <- I(unname(predict(m, newdata = nd, type = "link", re.form = NA)))
r$out$predict_new_fixed_response <- I(unname(predict(m, newdata = nd, type = "response", re.form = NA)))
r$out$predict_new_subject_response <- I(unname(predict(m, newdata = nd, type = "response", re.form = ~ (x | subject), allow.new.levels = TRUE)))
write_json_case(r$out, "crossed_binary_slopes")

# ---------------- links not covered elsewhere
cb <- as.data.frame(cbpp); cb <- relevel_sorted(cb); cb$prop <- cb$incidence / cb$size
cb <- save_read(cb, "cbpp", c("herd", "period"), write = FALSE)  # make_glmm.R's copy, the same rows
cbf <- "cbind(incidence, size - incidence) ~ period + (1 | herd)"
r <- glmm_case("cbpp_cloglog", "cbpp", cb, cbf, binomial(link = "cloglog"), factors = c("herd", "period"))
nd <- data.frame(period = c("1", "2", "4", "3", "1"), herd = c("1", "15", "7", "new", "new"))
r$out$newdata <- nd
r$out$predict_new_link <- I(unname(predict(r$model, newdata = nd, type = "link", allow.new.levels = TRUE)))
r$out$predict_new_response <- I(unname(predict(r$model, newdata = nd, type = "response", allow.new.levels = TRUE)))
r$out$predict_new_fixed_link <- I(unname(predict(r$model, newdata = nd, type = "link", re.form = NA)))
r$out$predict_new_fixed_response <- I(unname(predict(r$model, newdata = nd, type = "response", re.form = NA)))
write_json_case(r$out, "cbpp_cloglog")
write_json_case(glmm_case("cbpp_cauchit", "cbpp", cb, cbf, binomial(link = "cauchit"), factors = c("herd", "period"))$out, "cbpp_cauchit")
write_json_case(glmm_case("cbpp_nagq0", "cbpp", cb, cbf, binomial, nAGQ = 0, factors = c("herd", "period"))$out, "cbpp_nagq0")
gt <- as.data.frame(grouseticks); gt$cHEIGHT <- gt$HEIGHT - mean(gt$HEIGHT); gt <- relevel_sorted(gt)
gt <- gt[, c("INDEX", "TICKS", "BROOD", "HEIGHT", "YEAR", "LOCATION", "cHEIGHT")]
gt <- save_read(gt, "grouseticks_sqrt", c("INDEX", "BROOD", "YEAR", "LOCATION"))
write_json_case(glmm_case("grouseticks_sqrt", "grouseticks_sqrt", gt, "TICKS ~ YEAR + cHEIGHT + (1 | BROOD)", poisson(link = "sqrt"),
                          factors = c("BROOD", "YEAR"), note = "Poisson with the square-root link; R's glm() of the fixed part finds no valid starting values, glmer fits")$out, "grouseticks_sqrt")

write_json_case(glmm_case("grouseticks_sqrt_year", "grouseticks_sqrt", gt, "TICKS ~ YEAR + (1 | BROOD)", poisson(link = "sqrt"),
                          factors = c("BROOD", "YEAR"), note = "Poisson sqrt link; a GLM of this fixed part has valid starting values")$out, "grouseticks_sqrt_year")

# ---------------- likelihood-ratio tests: anova(m0, m1)
anova_values <- function(d, f0, f1, dataname, family, factors) {
  m0 <- glmer(as.formula(f0), data = d, family = family)
  m1 <- glmer(as.formula(f1), data = d, family = family)
  a <- anova(m0, m1)
  list(data = paste0(dataname, ".csv"), family = family()$family, factors = I(factors), formulas = I(c(f0, f1)),
       npar = I(a$npar), AIC = I(a$AIC), BIC = I(a$BIC), logLik = I(a$logLik), deviance = I(a$deviance),
       Chisq = I(a$Chisq), Df = I(a$Df), p = I(a[["Pr(>Chisq)"]]),
       text = paste(capture.output(print(a)), collapse = "\n"))
}
out <- list(
  cbpp = anova_values(cb, "cbind(incidence, size - incidence) ~ 1 + (1 | herd)", cbf, "cbpp", binomial, c("herd", "period")),
  crossed = anova_values(cr, "y ~ x + (1 | subject) + (1 | item)", "y ~ x + (x | subject) + (1 | item)",
                         "crossed_binary", binomial, c("subject", "item")))
write_json_case(out, "anova_glmer")

# ---------------- a weighted fit's summary: proportions with the trials as weights
mw <- glmer(prop ~ period + (1 | herd), data = cb, family = binomial, weights = size)
write_json_case(list(data = "cbpp.csv", formula = "prop ~ period + (1 | herd)", weights = "size",
                     summary_text = paste(capture.output(print(summary(mw))), collapse = "\n")), "cbpp_weighted_summary")
