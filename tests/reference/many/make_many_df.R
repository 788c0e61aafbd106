# Reference for tests/test_many_df.py: lmerTest's Satterthwaite df and p-values of every
# coefficient for several responses of two designs (sleepstudy random slopes, crossed random
# intercepts), REML and ML, some responses with missing values.
# Run from this directory: Rscript make_many_df.R  (writes many_df.json)
suppressMessages({library(lme4); library(lmerTest); library(jsonlite)})

set.seed(2026)
sleep <- lme4::sleepstudy
sleep$Subject <- as.character(sleep$Subject)
f0 <- lme4::lmer(Reaction ~ Days + (Days | Subject), sleep)
ys <- as.matrix(simulate(f0, nsim = 4, seed = 11))
ys[c(1, 2, 3), 2] <- NA
ys[c(10, 20, 30, 40), 4] <- NA
colnames(ys) <- paste0("s", 1:4)

n <- 96
crossed <- data.frame(
  donor = rep(sprintf("d%02d", 1:16), each = n / 16),
  batch = sprintf("b%d", sample(1:5, n, replace = TRUE)),
  cond = rep(c("a", "b"), n / 2),
  age = round(rnorm(n, 50, 10), 3),
  stringsAsFactors = FALSE
)
d_idx <- as.integer(factor(crossed$donor))
b_idx <- as.integer(factor(crossed$batch))
yc <- sapply(1:4, function(j) {
  round(rnorm(16)[d_idx] + 0.7 * rnorm(5)[b_idx] + 0.4 * (crossed$cond == "b") + rnorm(n), 6)
})
yc[c(5, 50), 3] <- NA
colnames(yc) <- paste0("c", 1:4)

coefs <- function(data, ys, rhs, reml) {
  out <- list()
  for (name in colnames(ys)) {
    d <- data
    d$y <- ys[, name]
    fit <- suppressMessages(lmerTest::lmer(as.formula(paste("y", rhs)), d, REML = reml))
    tab <- coef(summary(fit))
    out[[name]] <- list(
      term = rownames(tab), estimate = unname(tab[, "Estimate"]), se = unname(tab[, "Std. Error"]),
      df = unname(tab[, "df"]), p = unname(tab[, "Pr(>|t|)"]), loglik = as.numeric(logLik(fit)),
      theta = unname(getME(fit, "theta"))
    )
  }
  out
}

design <- function(data, ys, rhs) {
  list(
    data = data, names = colnames(ys),
    responses = lapply(setNames(colnames(ys), colnames(ys)), function(nm) ys[, nm]),
    cases = lapply(c(TRUE, FALSE), function(reml) list(rhs = rhs, reml = reml, coef = coefs(data, ys, rhs, reml)))
  )
}

ref <- list(
  versions = list(lme4 = as.character(packageVersion("lme4")), lmerTest = as.character(packageVersion("lmerTest"))),
  designs = list(
    design(sleep, ys, "~ Days + (Days | Subject)"),
    design(crossed, yc, "~ cond + age + (1 | donor) + (1 | batch)")
  )
)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, na = "null"), "many_df.json")
