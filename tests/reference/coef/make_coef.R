# lme4's coef() for tests/test_coef.py. Run from this folder: Rscript make_coef.R
suppressMessages({library(lme4); library(jsonlite)})
data_dir <- "../../../src/mixedmodels/datasets"
load_csv <- function(name) read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = TRUE)
sleep <- load_csv("sleepstudy"); pen <- load_csv("penicillin"); cbpp <- load_csv("cbpp")
cbpp$period <- factor(cbpp$period)
as_list <- function(cf) lapply(cf, function(t) list(levels = rownames(t), columns = colnames(t),
                                                     values = unname(as.matrix(t))))
out <- list(
  slopes = as_list(coef(lmer(Reaction ~ Days + (Days | Subject), sleep))),
  no_fixed_slope = as_list(coef(lmer(Reaction ~ 1 + (Days | Subject), sleep))),
  crossed = as_list(coef(lmer(diameter ~ 1 + (1 | plate) + (1 | sample), pen))),
  glmer = as_list(coef(glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, family = binomial)))
)
writeLines(toJSON(out, digits = NA, pretty = TRUE), "coef.json")
