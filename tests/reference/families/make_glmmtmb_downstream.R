# glmmTMB's output for what a user does with a glmmTMB-style fit (tests/test_glmmtmb_fits.py):
# printed summaries (tests/reference/summaries/glmmtmb_summaries.json), anova tables, Wald
# confint (with the SDs and sigma), emmeans on the response scale, conditional SDs of the
# random effects, residuals and predictions (tests/reference/families/glmmtmb_downstream.json).
# R 4.2.2, glmmTMB 1.1.5, emmeans 1.8.4-1 (Debian packages).
# Usage (from the repository root): Rscript tests/reference/families/make_glmmtmb_downstream.R
suppressPackageStartupMessages({library(glmmTMB); library(emmeans); library(jsonlite)})
sal <- read.csv("tests/data/salamanders.csv")
grouse <- read.csv("tests/data/grouseticks_nb.csv")
for (v in c("INDEX", "BROOD", "YEAR", "LOCATION")) grouse[[v]] <- factor(grouse[[v]])
cbpp <- read.csv("tests/data/cbpp.csv")
cbpp$herd <- factor(cbpp$herd); cbpp$period <- factor(cbpp$period)

cases <- list(
  salamanders_nb2 = list(data = "salamanders", call =
    "glmmTMB(count ~ spp * mined + (1 | site), data, family = nbinom2)"),
  salamanders_poisson = list(data = "salamanders", call =
    "glmmTMB(count ~ spp * mined + (1 | site), data, family = poisson)"),
  grouseticks_nb2 = list(data = "grouseticks", call =
    "glmmTMB(TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION), data, family = nbinom2)"),
  grouseticks_slope_nb2 = list(data = "grouseticks", call =
    "glmmTMB(TICKS ~ YEAR + cHEIGHT + (1 + cHEIGHT | LOCATION), data, family = nbinom2)"),
  cbpp_binomial = list(data = "cbpp", call =
    "glmmTMB(cbind(incidence, size - incidence) ~ period + (1 | herd), data, family = binomial)")
)
fits <- lapply(cases, function(case) {
  env <- new.env(); env$data <- switch(case$data, salamanders = sal, grouseticks = grouse, cbpp = cbpp)
  eval(parse(text = case$call)[[1]], env)
})
summaries <- Map(function(case, fit) {
  case$printed <- capture.output(print(summary(fit))); case
}, cases, fits)
writeLines(toJSON(summaries, pretty = TRUE, auto_unbox = TRUE, digits = NA),
           "tests/reference/summaries/glmmtmb_summaries.json")

anova_table <- function(a) list(names = rownames(a), Df = a$Df, AIC = a$AIC, BIC = a$BIC,
  logLik = a$logLik, deviance = a$deviance, Chisq = a$Chisq, ChiDf = a[["Chi Df"]],
  p = a[["Pr(>Chisq)"]])
ci_table <- function(ci) list(names = rownames(ci), lower = unname(ci[, 1]),
  upper = unname(ci[, 2]), estimate = unname(ci[, 3]))
nb <- fits$salamanders_nb2
data <- sal  # anova asks that the fits name the same data
additive <- glmmTMB(count ~ spp + mined + (1 | site), data, family = nbinom2)
em <- as.data.frame(emmeans(nb, ~ spp, type = "response"))
em_mined <- as.data.frame(emmeans(nb, ~ mined | spp, type = "response"))
cv <- attr(ranef(nb, condVar = TRUE)$cond$site, "condVar")
cv_g <- lapply(ranef(fits$grouseticks_nb2, condVar = TRUE)$cond, function(r) sqrt(as.vector(attr(r, "condVar"))))
out <- list(
  anova_poisson_nb2 = anova_table(anova(fits$salamanders_poisson, nb)),
  anova_additive_nb2 = anova_table(anova(additive, nb)),
  confint_salamanders_nb2 = ci_table(confint(nb)),
  confint_full_salamanders_nb2 = ci_table(confint(nb, full = TRUE)),
  confint_full_grouseticks_nb2 = ci_table(confint(fits$grouseticks_nb2, full = TRUE)),
  confint_full_grouseticks_slope_nb2 = ci_table(confint(fits$grouseticks_slope_nb2, full = TRUE)),
  confint_cbpp_binomial = ci_table(confint(fits$cbpp_binomial, full = TRUE)),
  confint_salamanders_poisson = ci_table(confint(fits$salamanders_poisson)),
  emmeans_spp = list(spp = as.character(em$spp), response = em$response, SE = em$SE,
                     df = em$df, lower = em[[5]], upper = em[[6]],
                     printed = capture.output(print(emmeans(nb, ~ spp, type = "response"))),
                     printed_link = capture.output(print(emmeans(nb, ~ spp)))),
  emmeans_mined_by_spp = list(mined = as.character(em_mined$mined), spp = as.character(em_mined$spp),
                              response = em_mined$response, SE = em_mined$SE),
  ranef_salamanders_nb2 = list(grp = rownames(ranef(nb)$cond$site),
                               condval = ranef(nb)$cond$site[, 1], condsd = sqrt(as.vector(cv))),
  ranef_condsd_grouseticks_nb2 = cv_g,
  resid_salamanders_nb2 = list(
    response_head = unname(head(residuals(nb, type = "response"), 10)),
    pearson_head = unname(head(residuals(nb, type = "pearson"), 10)),
    working_head = unname(head(residuals(nb, type = "working"), 10)),
    deviance = tryCatch(residuals(nb, type = "deviance"), error = function(e) conditionMessage(e))),
  predict_newdata_salamanders_nb2 = list(
    rows = c(1, 50, 300),
    link = unname(predict(nb, newdata = sal[c(1, 50, 300), ], type = "link")),
    response = unname(predict(nb, newdata = sal[c(1, 50, 300), ], type = "response")),
    population_link = unname(predict(nb, newdata = sal[c(1, 50, 300), ], re.form = NA)))
)
writeLines(toJSON(out, pretty = TRUE, auto_unbox = TRUE, digits = NA),
           "tests/reference/families/glmmtmb_downstream.json")
