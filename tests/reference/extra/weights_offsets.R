# Reference values for tests/test_weights_offsets.py (lme4 1.1-31, R 4.2):
#   Rscript tests/reference/extra/weights_offsets.R tests/data/sleepstudy_weighted.csv tests/reference/extra/weights_offsets.json
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})
args <- commandArgs(TRUE)
d <- read.csv(args[1])
d$Subject <- factor(d$Subject)
out <- list()
fit_values <- function(m) list(
  fixef = unname(fixef(m)), se = unname(sqrt(diag(as.matrix(vcov(m))))),
  theta = unname(getME(m, "theta")), sigma = sigma(m), objective = unname(deviance(m, REML = isREML(m))),
  crit = if (isREML(m)) REMLcrit(m) else deviance(m))
# ML with weights and a vector random effect
m <- lmer(Reaction ~ Days + (Days | Subject), d, weights = w, REML = FALSE)
out$weights_ml <- c(fit_values(m), list(
  pearson_head = unname(head(residuals(m, type = "pearson"), 10)),
  response_head = unname(head(residuals(m), 10)),
  profile = unname(as.matrix(confint(m, method = "profile", oldNames = FALSE)))))
# weights and an offset together, REML, Satterthwaite
d$o <- 5 * d$logdays
m2 <- lmer(Reaction ~ Days + offset(o) + (1 | Subject), d, weights = w)
out$weights_offset <- c(fit_values(m2), list(
  df = unname(summary(m2)$coefficients[, "df"]),
  fitted_head = unname(head(fitted(m2), 10))))
# an offset and predictions for new data (the offset evaluated on them)
m3 <- lmer(Reaction ~ Days + offset(10 * logdays) + (Days || Subject), d)
new <- data.frame(Days = c(0, 2.5, 9, 4), logdays = c(0, 1.25, 2.3, 1.6),
                  Subject = factor(c("308", "309", "372", "308"), levels = levels(d$Subject)))
out$offset_predict <- c(fit_values(m3), list(
  newdata = new, predict = unname(predict(m3, newdata = new)),
  predict_population = unname(predict(m3, newdata = new, re.form = NA))))
# zero weights: the fit of the data without those rows
d0 <- d[d$w > 0.9, ]
out$zero_weights_dropped <- fit_values(lmer(Reaction ~ Days + (Days | Subject), d0, weights = w))
# lm with weights and an offset
l <- lm(Reaction ~ Days + offset(10 * logdays), d, weights = w)
s <- summary(l)
out$lm_weights_offset <- list(coef = unname(coef(l)), se = unname(s$coefficients[, 2]), sigma = s$sigma,
  r_squared = s$r.squared, fstatistic = unname(s$fstatistic), fitted_head = unname(head(fitted(l), 10)),
  predict = unname(predict(l, newdata = new)))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE), args[2])
