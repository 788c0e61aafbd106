# lme4 on the small generated crossed data set (benchmarks/crossed_data.py, 3000 rows, seed 5).
# Usage: Rscript make_crossed_reference.R tests/data/crossed_small.csv tests/reference/crossed_small.json
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
d <- read.csv(args[1]); d$user <- factor(d$user); d$item <- factor(d$item)
m <- lmer(rating ~ 1 + x1 + x2 + treat + (1 | user) + (1 | item), d)
vc <- as.data.frame(VarCorr(m))
out <- list(formula = "rating ~ 1 + x1 + x2 + treat + (1 | user) + (1 | item)", fixef = unname(fixef(m)),
            se = unname(sqrt(diag(as.matrix(vcov(m))))), theta = unname(getME(m, "theta")),
            sigma = sigma(m), sd = vc$sdcor, objective = unname(REMLcrit(m)))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), args[2])
