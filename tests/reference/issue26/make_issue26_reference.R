# Reference values for issue 26 (inference helper): lmerTest's ANOVA tables of nlme's BodyWeight,
# lme4's LRT table of non-nested models, and lme4's checks of degenerate random-effects terms.
# lme4 1.1-x, lmerTest 3.1-3 (Debian packages).
# Usage: Rscript make_issue26_reference.R DATADIR OUTFILE
#   DATADIR holds bodyweight.csv (nlme::BodyWeight written by write.csv); sleepstudy is lme4s.
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(jsonlite)})
args <- commandArgs(TRUE)
dd <- args[1]; outfile <- args[2]
out <- list()

bw <- read.csv(file.path(dd, "bodyweight.csv"))
bw$Diet <- factor(bw$Diet); bw$Rat <- factor(bw$Rat)
# lmer's default optimizer stops short here (max|grad| = 0.017, REML criterion 1151.71996);
# BOBYQA run to rhoend = 1e-12 reaches the optimum (1151.71975) that mixedmodels reaches.
tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5))
m <- lmerTest::lmer(weight ~ Time * Diet + (Time | Rat), bw, control = tight)
for (type in 1:3) for (ddf in c("Satterthwaite", "Kenward-Roger")) {
  a <- anova(m, type = type, ddf = ddf)
  out[[sprintf("bodyweight_type%d_%s", type, ddf)]] <- list(terms = rownames(a),
    F = unname(a[["F value"]]), NumDF = unname(a$NumDF), DenDF = unname(a$DenDF),
    p = unname(a[["Pr(>F)"]]))
}

# anova() of models that are not nested
ss <- lme4::sleepstudy
ss$D2 <- ss$Days^2
a1 <- lme4::lmer(Reaction ~ Days + (1 | Subject), ss, REML = FALSE)
a2 <- lme4::lmer(Reaction ~ D2 + (1 | Subject), ss, REML = FALSE)
tab <- function(a) list(npar = unname(a$npar), logLik = unname(a$logLik), deviance = unname(a$deviance),
  Chisq = unname(a$Chisq), Df = unname(a$Df), p = unname(a[["Pr(>Chisq)"]]))
out$anova_same_npar <- tab(anova(a1, a2))
out$anova_same_npar_printed <- capture.output(print(anova(a1, a2)))
# the larger model with the smaller logLik
ss$c1 <- cos(ss$Days); ss$s1 <- sin(ss$Days); ss$c2 <- cos(2 * ss$Days); ss$s2 <- sin(2 * ss$Days)
b1 <- lme4::lmer(Reaction ~ Days + (Days | Subject), ss, REML = FALSE)
b2 <- lme4::lmer(Reaction ~ c1 + s1 + c2 + s2 + (1 | Subject), ss, REML = FALSE)
out$anova_larger_worse <- tab(anova(b1, b2))
out$anova_larger_worse_printed <- capture.output(print(anova(b1, b2)))
# lme4's checks of degenerate random-effects terms (tests/test_degenerate_terms.py uses data of
# the same shape: 12 observations, g with 6 levels, i with 12)
set.seed(1)
dg <- data.frame(y = rnorm(12), k = rpois(12, 3), x = rep(1:3, 4), x2 = rnorm(12),
  g = factor(rep(1:6, each = 2)), i = factor(1:12))
msg <- function(expr) tryCatch({expr; "fitted"}, error = function(e) conditionMessage(e))
out$checks <- list(
  lmer_x_g = msg(lmer(y ~ 1 + (x | g), dg)),
  lmer_i = msg(lmer(y ~ 1 + (1 | i), dg)),
  lmer_one_level = msg(lmer(y ~ 1 + (1 | x) + (1 | g), subset(dg, x == 1))),
  glmer_x_g = msg(suppressWarnings(glmer(k ~ 1 + (x | g), dg, family = poisson))),
  glmer_i = msg(suppressWarnings(glmer(k ~ 1 + (1 | i), dg, family = poisson))),
  glmer_x_x2_g = msg(glmer(k ~ 1 + (x + x2 | g), dg, family = poisson)),
  glmer_one_level = msg(glmer(k ~ 1 + (1 | x) + (1 | g), subset(dg, x == 1), family = poisson)))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"), outfile)
