# Reference log-likelihoods and coefficients of tests/test_zero_inflation_review.py (glmmTMB 1.1.5).
# The data tests/data/zi_review_generated.csv were drawn in Python (numpy default_rng(29)):
# 300 rows, 20 groups g, 6 groups h; x, z standard normal; cnt a zero-inflated negative binomial
# (pi = logistic(-0.8 + 0.7 z), size = exp(0.5 + 0.6 z), a random slope of x in g and an
# intercept in h); pois a Poisson without excess zeros; succ of trials a zero-inflated binomial.
suppressMessages(library(glmmTMB))
d <- read.csv("tests/data/zi_review_generated.csv")
show <- function(name, f) cat(name, sprintf("%.6f", logLik(f)), sprintf("%.5f", unlist(fixef(f))), "\n")
show("hurdle_disp", glmmTMB(cnt ~ x + (1|g), d, family=truncated_nbinom2, ziformula=~z, dispformula=~z))
show("nb2_dispnum", glmmTMB(cnt ~ x + (1|g), d, family=nbinom2, ziformula=~z, dispformula=~z))
show("zinb_slope", glmmTMB(cnt ~ x + (x|g), d, family=nbinom2, ziformula=~z))
show("zinb_two", glmmTMB(cnt ~ x + (1|g) + (1|h), d, family=nbinom2, ziformula=~z))
show("zip_none", glmmTMB(pois ~ x + (1|g), d, family=poisson, ziformula=~1))
show("zip_none_x", glmmTMB(pois ~ x + (1|g), d, family=poisson, ziformula=~x))
show("binzi", glmmTMB(cbind(succ, fail) ~ x + (1|g), d, family=binomial, ziformula=~z))
# tests/data/zi_gaussian_negative_generated.csv: tests/data/hetero_generated.csv with yz = y, set to 0
# where numpy default_rng(1).random(300) < 0.2.
g <- read.csv("tests/data/zi_gaussian_negative_generated.csv")
f <- glmmTMB(yz ~ x + (1|g), g, family=gaussian, ziformula=~1)
show("zi_gaussian", f)
print(f$fit$par)
