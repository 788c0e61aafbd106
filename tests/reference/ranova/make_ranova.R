# lmerTest's ranova() for tests/test_ranova.py: each table and its printout.
# Run from this folder: Rscript make_ranova.R
suppressMessages({library(lmerTest); library(jsonlite)})
data_dir <- "../../../src/mixedmodels/datasets"
load_csv <- function(name) read.csv(file.path(data_dir, paste0(name, ".csv")), stringsAsFactors = TRUE)
sleep <- load_csv("sleepstudy"); pen <- load_csv("penicillin"); seed <- load_csv("seed")
seed$p <- factor(seed$p)
cases <- list(
  slopes = ranova(lmer(Reaction ~ Days + (Days | Subject), sleep)),
  slopes_ml = ranova(lmer(Reaction ~ Days + (Days | Subject), sleep, REML = FALSE)),
  slopes_whole = ranova(lmer(Reaction ~ Days + (Days | Subject), sleep), reduce.terms = FALSE),
  uncorrelated = ranova(lmer(Reaction ~ Days + (Days || Subject), sleep)),
  crossed = ranova(lmer(diameter ~ 1 + (1 | plate) + (1 | sample), pen)),
  to_lm = ranova(lmer(y ~ x + (1 | p), seed))
)
out <- lapply(cases, function(a) list(
  rows = rownames(a),
  table = lapply(as.list(unclass(a)), function(v) ifelse(is.na(v), NA, v)),
  printed = paste(capture.output(print(a)), collapse = "\n")
))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null", pretty = TRUE), "ranova.json")
