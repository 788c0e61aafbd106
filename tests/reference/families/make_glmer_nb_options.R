# lme4's glmer.nb with its options on grouseticks (TICKS ~ YEAR + (1 | BROOD)): nAGQ = 0 and 5,
# an offset, prior weights, and what update() and refit() of a glmer.nb fit do with theta.
# R 4.2.2, lme4 1.1-31, MASS 7.3-58.2. Run from the repository root (about 30 s):
#   Rscript tests/reference/families/make_glmer_nb_options.R   -> glmer_nb_options.json
suppressPackageStartupMessages({library(lme4); library(MASS); library(jsonlite)})
gt <- read.csv("tests/data/grouseticks.csv", stringsAsFactors = FALSE)
for (f in c("BROOD", "YEAR", "LOCATION")) gt[[f]] <- factor(as.character(gt[[f]]), levels = sort(unique(as.character(gt[[f]])), method = "radix"))
gt$w <- rep(c(1, 2, 3), length.out = nrow(gt))
gt$logh <- log(gt$HEIGHT / 500)

record <- function(m, secs) list(
  fixef = as.list(fixef(m)), se = I(unname(sqrt(diag(as.matrix(vcov(m)))))),
  theta_nb = getME(m, "glmer.nb.theta"), theta = I(unname(getME(m, "theta"))),
  loglik = as.numeric(logLik(m)), df = attr(logLik(m), "df"), nevals = attr(m, "nevals"), seconds = secs)
# glmer.nb evaluates its call again (match.call): it must be called directly, not through a wrapper's ...
timed <- function(expr) { t0 <- proc.time()[["elapsed"]]; m <- expr; record(m, proc.time()[["elapsed"]] - t0) }

out <- list(case = "glmer_nb_options", data = "grouseticks.csv", engine = "lme4 1.1-31 glmer.nb",
  formula = "TICKS ~ YEAR + (1 | BROOD)",
  nagq0 = timed(glmer.nb(TICKS ~ YEAR + (1 | BROOD), data = gt, nAGQ = 0)),
  nagq5 = timed(glmer.nb(TICKS ~ YEAR + (1 | BROOD), data = gt, nAGQ = 5)),
  offset = c(list(offset = "log(HEIGHT / 500)"), timed(glmer.nb(TICKS ~ YEAR + (1 | BROOD), data = gt, offset = logh))),
  weights = c(list(weights = "rep(c(1, 2, 3), length.out = n)"), timed(glmer.nb(TICKS ~ YEAR + (1 | BROOD), data = gt, weights = w))))
m <- glmer.nb(TICKS ~ YEAR + (1 | BROOD), data = gt)
u <- update(m, . ~ . + cHEIGHT)
r <- refit(m, simulate(m, seed = 1)[[1]])
out$update_refit <- list(note = paste("update() of a glmer.nb fit calls glmer with negative.binomial(theta_hat): theta stays",
  "fixed; refit() (and so bootMer) keeps theta fixed too"),
  theta_nb = getME(m, "glmer.nb.theta"), update_formula = "TICKS ~ YEAR + (1 | BROOD) + cHEIGHT",
  update_theta_nb = getME(u, "glmer.nb.theta"), update_loglik = as.numeric(logLik(u)),
  refit_theta_nb = getME(r, "glmer.nb.theta"))
write_json(out, "tests/reference/families/glmer_nb_options.json", digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("done\n")
