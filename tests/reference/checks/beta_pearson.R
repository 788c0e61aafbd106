# glmmTMB 1.1.5: a beta GLMM's precision and its Pearson residuals standardized by the full
# variance mu (1 - mu) / (1 + phi) (glmmTMB's own Pearson residuals divide by mu (1 - mu) only);
# the numbers are written into tests/test_check_seams.py. Run from the repository root.
suppressMessages(library(glmmTMB))
d <- read.csv("tests/data/beta_generated.csv")
d$g <- factor(d$g)
f <- glmmTMB(y ~ x + (1 | g), d, family = beta_family())
mu <- fitted(f)
cat(sprintf("%.12g", sigma(f)), "\n")
cat(sprintf("%.12g", head(residuals(f, type = "pearson") * sqrt(1 + sigma(f)), 5)), "\n")
cat(sprintf("%.12g", head((d$y - mu) / sqrt(mu * (1 - mu) / (1 + sigma(f))), 5)), "\n")
