# lme4's bootMer on cbpp with period 4's incidences set to 0 (complete separation of period4):
# the standard deviations of the other coefficients and of the herd SD over the replicates.
# Every replicate is separated too (period 4 has no events in any simulated response), so R's
# period4 replicates are wherever its optimizer stopped; the other statistics are finite.
# Run: Rscript make_bootmer_separated.R  (writes bootmer_separated.json)
suppressMessages({library(lme4); library(jsonlite)})
d <- read.csv("../../../data/cbpp.csv")
d$period <- factor(d$period)
d$herd <- factor(d$herd)
d$incidence[d$period == "4"] <- 0
fit <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), d, family = binomial)
stat <- function(f) c(sd_herd = unname(getME(f, "theta")), fixef(f))
set.seed(20261207)
b <- suppressWarnings(suppressMessages(bootMer(fit, stat, nsim = 1000, use.u = FALSE, type = "parametric")))
t <- b$t
ok <- apply(is.finite(t), 1, all)
sds <- apply(t[ok, ], 2, sd)
out <- list(
  nsim = 1000, seed = 20261207, n_finite = sum(ok),
  t0 = as.list(stat(fit)),
  sd = as.list(sds),
  period4_range = range(t[ok, "period4"]),
  lme4 = as.character(packageVersion("lme4"))
)
write_json(out, "bootmer_separated.json", auto_unbox = TRUE, digits = NA, pretty = TRUE)
