# R 4.2.2 (quantreg installed): the reference numbers inlined in tests/test_simulated_residuals.py.
# Rscript tests/reference/checks/simulated_residuals.R
print(binom.test(5, 100, p = 2 / 100)$p.value, digits = 10)  # outlier test: 0.05083044537
r <- seq(0.005, 0.995, length.out = 100)^1.3
k <- ks.test(r, "punif")
print(c(k$statistic, k$p.value), digits = 10)  # uniformity: 0.1012409486 0.2569343212
suppressPackageStartupMessages(library(quantreg))
x <- (0:100) / 100
y <- 2 + 3 * x + sin(37 * x) + 0.5 * cos(11 * x^2)
for (tau in c(0.25, 0.5, 0.75)) print(coef(rq(y ~ x, tau = tau)), digits = 12)  # quantile lines
