# lme4's bootMer on plain cbpp: a few replicates have no events in period 4 (separated) and
# run period4 off to about -20 or below, which bootMer keeps in the replicates without a word.
# sd: over all replicates; sd_without_runoff: over those with period4 > -10 (not separated).
# Run: Rscript make_bootmer_plain.R  (writes bootmer_plain.json)
suppressMessages({library(lme4); library(jsonlite)})
d <- read.csv("../../../data/cbpp.csv")
d$period <- factor(d$period)
d$herd <- factor(d$herd)
fit <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), d, family = binomial)
stat <- function(f) c(sd_herd = unname(getME(f, "theta")), fixef(f))
set.seed(20261207)
b <- suppressWarnings(suppressMessages(bootMer(fit, stat, nsim = 1000, use.u = FALSE, type = "parametric")))
t <- b$t
ok <- apply(is.finite(t), 1, all)
runoff <- t[, "period4"] < -10
out <- list(
  nsim = 1000, seed = 20261207, n_finite = sum(ok), n_runoff = sum(runoff & ok),
  t0 = as.list(stat(fit)),
  sd = as.list(apply(t[ok, ], 2, sd)),
  sd_without_runoff = as.list(apply(t[ok & !runoff, ], 2, sd)),
  period4_range = range(t[ok, "period4"]),
  lme4 = as.character(packageVersion("lme4"))
)
write_json(out, "bootmer_plain.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
