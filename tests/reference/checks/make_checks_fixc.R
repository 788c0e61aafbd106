# performance 0.10.2's check_overdispersion of a binomial given as proportions with weights,
# and of glmmTMB 1.1.5 fits with zero inflation or a dispersion model (glmmTMB's Pearson
# residuals, df.residual = nobs - npar).
# Rscript tests/reference/checks/make_checks_fixc.R (from the repository root)
suppressMessages({library(lme4); library(glmmTMB); library(performance); library(jsonlite)})
od <- function(f) { o <- check_overdispersion(f); list(chisq = o$chisq_statistic, ratio = o$dispersion_ratio,
  rdf = o$residual_df, p = o$p_value, nobs = nobs(f)) }
cb <- read.csv("tests/reference/checks/cbpp.csv"); cb$herd <- factor(cb$herd); cb$period <- factor(cb$period)
cb$p <- cb$incidence / cb$size
# as make_checks.R: lme4 with a tight PIRLS tolerance reaches the optimum ours reaches
ctrl <- glmerControl(tolPwrss = 1e-12)
out <- list()
out$cbpp_glmer_cbind <- od(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial, control = ctrl))
out$cbpp_glmer_proportion <- od(glmer(p ~ period + (1 | herd), cb, family = binomial, weights = size, control = ctrl))
out$cbpp_glm_cbind <- od(glm(cbind(incidence, size - incidence) ~ period, cb, family = binomial))
out$cbpp_glm_proportion <- od(glm(p ~ period, cb, family = binomial, weights = size))
ow <- read.csv("tests/data/owls.csv")
out$owls_zi_nbinom1 <- od(glmmTMB(SiblingNegotiation ~ FoodTreatment * SexParent + offset(log(BroodSize)) + (1 | Nest),
  ow, ziformula = ~ FoodTreatment, family = nbinom1))
out$owls_zi_poisson <- od(glmmTMB(SiblingNegotiation ~ FoodTreatment + offset(log(BroodSize)) + (1 | Nest),
  ow, ziformula = ~ 1, family = poisson))
out$owls_disp_nbinom1 <- od(glmmTMB(SiblingNegotiation ~ FoodTreatment + offset(log(BroodSize)) + (1 | Nest),
  ow, dispformula = ~ FoodTreatment, family = nbinom1))
out$versions <- list(performance = as.character(packageVersion("performance")),
  glmmTMB = as.character(packageVersion("glmmTMB")), lme4 = as.character(packageVersion("lme4")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/checks/checks_fixc_overdispersion.json")
