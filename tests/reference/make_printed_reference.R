# Printed output of R and lme4 (1.1-31, R 4.2.2, Debian packages) for the text tests of
# tests/test_printing.py: anova() of nested models, as the console shows it.
# Usage: Rscript make_printed_reference.R DATADIR OUTFILE
#   DATADIR holds sleepstudy.csv as the package ships it.
suppressPackageStartupMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
dd <- args[1]; outfile <- args[2]
data <- read.csv(file.path(dd, "sleepstudy.csv")); data$Subject <- factor(data$Subject)

printed <- function(expr) {
  # the console: the message (once) and then the printed table
  msg <- character()
  out <- withCallingHandlers(capture.output(print(expr)),
    message = function(m) { msg <<- c(msg, sub("\n$", "", conditionMessage(m))); invokeRestart("muffleMessage") })
  c(msg, out)
}
fm0 <- lmer(Reaction ~ Days + (1 | Subject), data)
fm1 <- lmer(Reaction ~ Days + (Days | Subject), data)
fm2 <- lmer(Reaction ~ 1 + (Days | Subject), data)
fq <- lmer(Reaction ~ Days + I(Days^2) + (Days | Subject), data, REML = FALSE)
fm1ml <- lmer(Reaction ~ Days + (Days | Subject), data, REML = FALSE)
l0 <- lm(Reaction ~ Days, data)
out <- list(
  anova_two = printed(anova(fm0, fm1)),
  anova_three = printed(anova(fm2, fm0, fm1)),
  anova_lm = printed(anova(fm1, l0)),
  anova_ml_not_significant = printed(anova(fm1ml, fq))
)
writeLines(toJSON(out, pretty = TRUE, digits = NA), outfile)
