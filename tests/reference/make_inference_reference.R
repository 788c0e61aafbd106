# Reference values for inference and prediction (lme4 1.1-31, lmerTest 3.1-3, Debian packages).
# Usage: Rscript make_inference_reference.R DATADIR OUTFILE
#   DATADIR holds sleepstudy.csv, cake.csv and seed.csv as the package ships them.
suppressPackageStartupMessages({library(lme4); library(lmerTest); library(jsonlite)})
args <- commandArgs(TRUE)
dd <- args[1]; outfile <- args[2]
ss <- read.csv(file.path(dd, "sleepstudy.csv")); ss$Subject <- factor(ss$Subject)
out <- list()

# likelihood-ratio test: (1 | Subject) against (Days | Subject), REML fits refitted by ML
m0 <- lme4::lmer(Reaction ~ Days + (1 | Subject), ss)
m1 <- lme4::lmer(Reaction ~ Days + (Days | Subject), ss)
a <- anova(m0, m1)
out$anova_sleepstudy <- list(npar = unname(a$npar), AIC = unname(a$AIC), BIC = unname(a$BIC),
  logLik = unname(a$logLik), deviance = unname(a$deviance), Chisq = unname(a$Chisq),
  Df = unname(a$Df), p = unname(a[["Pr(>Chisq)"]]))

# predictions with new subjects
nd <- data.frame(Days = c(0, 1, 5, 9, 3, 7), Subject = c("308", "309", "new1", "new2", "372", "new1"))
out$predict_newdata <- nd
out$predict_all <- unname(predict(m1, newdata = nd, allow.new.levels = TRUE))
out$predict_none <- unname(predict(m1, newdata = nd, re.form = NA))
out$predict_subject_intercept <- unname(predict(m1, newdata = nd, re.form = ~ (1 | Subject), allow.new.levels = TRUE))
out$predict_fitted_head <- unname(head(predict(m1), 5))

# lm prediction intervals
sd <- read.csv(file.path(dd, "seed.csv")); sd$p <- factor(sd$p)
fl <- lm(y ~ x + p, sd, contrasts = list(p = "contr.sum"))
nl <- data.frame(x = c(0.5, 3.0), p = factor(c("2", "7"), levels = levels(sd$p)))
out$lm_confidence <- unname(predict(fl, nl, interval = "confidence"))
out$lm_prediction <- unname(predict(fl, nl, interval = "prediction", level = 0.9))

# Satterthwaite: contrast F test and type III anova on cake
ck <- read.csv(file.path(dd, "cake.csv")); ck$recipe <- factor(ck$recipe); ck$replicate <- factor(ck$replicate)
mc <- lmerTest::lmer(angle ~ recipe * temp + (1 | recipe:replicate), ck)
L <- rbind(c(0, 1, 0, 0, 0, 0), c(0, 0, 1, 0, 0, 0))
ct <- contest(mc, L, joint = TRUE)
out$contest_cake <- list(L = L, F = ct[["F value"]], NumDF = ct$NumDF, DenDF = ct$DenDF, p = ct[["Pr(>F)"]])
a3 <- anova(mc, type = 3)
out$anova3_cake <- list(terms = rownames(a3), F = unname(a3[["F value"]]), NumDF = unname(a3$NumDF),
  DenDF = unname(a3$DenDF), p = unname(a3[["Pr(>F)"]]))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), outfile)
cat("ok\n")
