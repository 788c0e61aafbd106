# R's printed summaries for tests/test_call_lines.py: the Call: line of summary.lm and
# summary.glm (deparse of the call: broken past 60 characters, arguments in the order of the
# function's formals, the formula's spacing normalized) and lme4's Formula: line.
# R 4.2.2, lme4 1.1-31 (Debian packages).
# Usage (from the repository root): Rscript tests/reference/calls/make_call_reference.R
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
data_dir <- "src/mixedmodels/datasets"
sleep <- read.csv(file.path(data_dir, "sleepstudy.csv"))
sleep$Subject <- factor(sleep$Subject)
sleep$o <- log(sleep$Days + 1)       # the test adds the same two columns
sleep$w <- (sleep$Days %% 3) + 1
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
    "glmer(cbind(incidence, size - incidence) ~ period + log(size) + sqrt(size) + I(size/10) + (1 | herd), data, family = binomial)")
)
out <- lapply(cases, function(case) {
  env <- new.env(); env$data <- if (case$data == "cbpp") cbpp else sleep
  fit <- eval(parse(text = case$call)[[1]], env)
  case$printed <- capture.output(print(summary(fit)))
  case
})
writeLines(toJSON(out, pretty = TRUE, auto_unbox = TRUE), "tests/reference/calls/call_reference.json")
