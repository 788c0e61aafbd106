# R's printed summaries for tests/test_summary_text.py: the Call: line of summary.lm and
# summary.glm (deparse of the call: broken past 60 characters, arguments in the order of the
# function's formals, the formula's spacing normalized), lme4's Formula: line, and the
# coefficient tables of printCoefmat (stars left-justified, none and no legend when no p-value
# is below 0.1) with summary.lm's weighted residuals.
# R 4.2.2, lme4 1.1-31, lmerTest 3.1-3 (Debian packages).
# Usage (from the repository root): Rscript tests/reference/summaries/make_summary_reference.R
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
data_dir <- "src/mixedmodels/datasets"
sleep <- read.csv(file.path(data_dir, "sleepstudy.csv"))
sleep$Subject <- factor(sleep$Subject)
sleep$o <- log(sleep$Days + 1)       # the test adds the same two columns
sleep$w <- (sleep$Days %% 3) + 1
sleep$w2 <- 2
sleep$w0 <- (sleep$Days > 0) * sleep$w
sleep$z <- sin(seq_len(nrow(sleep)))
sleep$z100 <- 100 * sleep$z
sleep$b <- as.integer(sleep$z > 0)
cake <- read.csv(file.path(data_dir, "cake.csv"))
cake$recipe <- factor(cake$recipe); cake$replicate <- factor(cake$replicate)
cbpp <- read.csv(file.path(data_dir, "cbpp.csv"))
cbpp$herd <- factor(cbpp$herd, levels = sort(unique(cbpp$herd)))
cbpp$period <- factor(cbpp$period)

# each case: the data set, the R call as text (data is always `data`), what the test passes
cases <- list(
  lm_long = list(data = "sleepstudy", call =
    "lm(Reaction ~ Days + I(Days^2) + I(Days^3) + log(Days + 1) + sqrt(Days) + exp(Days/10), data)"),
  lm_longer = list(data = "sleepstudy", call =
    "lm(Reaction ~ Days + I(Days^2) + I(Days^3) + log(Days + 1) + sqrt(Days) + exp(Days/10) + I(Days^4) + I(Days^5) + I(Days^6), data)"),
  lm_offset_term = list(data = "sleepstudy", call = "lm(Reaction ~ Days + offset(o), data)"),
  lm_offset_argument = list(data = "sleepstudy", call = "lm(Reaction ~ Days, data, offset = o)"),
  lm_weights = list(data = "sleepstudy", call = "lm(Reaction ~ Days, data, weights = w)"),
  lm_weights_offset = list(data = "sleepstudy", call = "lm(Reaction ~ Days, data, weights = w, offset = o)"),
  lm_contrasts_weights_offset = list(data = "sleepstudy", call =
    "lm(Reaction ~ Days + Subject, data, contrasts = list(Subject = \"contr.sum\"), weights = w, offset = o)"),
  lm_spacing = list(data = "sleepstudy", call = "lm(Reaction~Days*o, data)"),
  glm_weights_offset_contrasts = list(data = "cbpp", call =
    "glm(incidence ~ period + herd, poisson, data, weights = size, offset = prop, contrasts = list(herd = \"contr.sum\"))"),
  glm_spacing = list(data = "cbpp", call = "glm(cbind(incidence,size-incidence)~period, binomial, data)"),
  lmer_long = list(data = "sleepstudy", call =
    "lmer(Reaction ~ Days + I(Days^2) + I(Days^3) + log(Days + 1) + sqrt(Days) + exp(Days/10) + (Days | Subject), data)"),
  lmer_spacing = list(data = "sleepstudy", call = "lmer(Reaction~Days*o + (1|Subject), data, weights = w, offset = o)"),
  glmer_long = list(data = "cbpp", call =
    "glmer(cbind(incidence, size - incidence) ~ period + log(size) + sqrt(size) + I(size/10) + (1 | herd), data, family = binomial)"),
  lm_weighted_stars = list(data = "sleepstudy", call =
    "lm(Reaction ~ Days + Subject, data, contrasts = list(Subject = \"contr.sum\"), weights = w)"),
  lm_no_stars = list(data = "sleepstudy", call = "lm(z ~ w, data)"),
  lm_constant_weights = list(data = "sleepstudy", call = "lm(Reaction ~ Days, data, weights = w2)"),
  lm_zero_weights = list(data = "sleepstudy", call = "lm(Reaction ~ Days, data, weights = w0)"),
  glmer_no_stars = list(data = "sleepstudy", call = "glmer(b ~ w + (1 | Subject), data, family = binomial)"),
  lmer_stars = list(data = "cake", call = "lmerTest::lmer(angle ~ recipe + temp + (1 | replicate), data)"),
  lmer_no_stars = list(data = "sleepstudy", call = "lmerTest::lmer(z100 ~ Days + w + (1 | Subject), data)")
)
out <- lapply(cases, function(case) {
  env <- new.env(); env$data <- switch(case$data, cbpp = cbpp, cake = cake, sleepstudy = sleep)
  fit <- eval(parse(text = case$call)[[1]], env)
  case$printed <- capture.output(print(summary(fit)))
  case
})
writeLines(toJSON(out, pretty = TRUE, auto_unbox = TRUE), "tests/reference/summaries/summaries.json")
