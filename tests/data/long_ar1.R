# long_ar1.csv: made by /work/shared/reference/make_turn3.R (its seed and order of draws),
# 60 subjects at 6 equally spaced times, an AR(1) process (rho 0.7, sd 1) plus N(0, 0.3^2) noise:
gen_long <- function(n, nt, rho, seed_sd = 1) {
  id <- factor(rep(sprintf("id%03d", 1:n), each = nt)); time <- rep(0:(nt - 1), n)
  e <- as.vector(replicate(n, as.numeric(arima.sim(list(ar = rho), nt, sd = seed_sd * sqrt(1 - rho^2)))))
  data.frame(y = 1 + 0.3 * time + rnorm(n * nt, 0, 0.3) + e, time = time,
             times = factor(time, levels = 0:(nt - 1)), id = id)
}
lon <- gen_long(60, 6, 0.7)
write.csv(lon, "long_ar1.csv", row.names = FALSE)
