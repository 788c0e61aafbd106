# R's anova(lm0, lm1, ...) for tests/test_lm_anova.py: the table and its printout.
# Run from this folder: Rscript make_lm_anova.R
library(jsonlite)
data_dir <- "../../../src/mixedmodels/datasets"
seed <- read.csv(file.path(data_dir, "seed.csv")); seed$p <- factor(seed$p)
pastes <- read.csv(file.path(data_dir, "pastes.csv")); pastes$batch <- factor(pastes$batch)
cases <- list(
  seed = anova(lm(y ~ 1, seed), lm(y ~ x, seed), lm(y ~ x + p, seed)),
  pastes = anova(lm(strength ~ batch, pastes), lm(strength ~ 1, pastes))
)
out <- lapply(cases, function(a) list(
  table = lapply(as.list(unclass(a)), function(v) ifelse(is.na(v), NA, v)),
  printed = paste(capture.output(print(a)), collapse = "\n")
))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE), "lm_anova.json")
