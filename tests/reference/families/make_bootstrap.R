# Item 4b of issue 28's reference sets: parametric bootstrap in R of two glmmTMB fits, NB2
# `count ~ spp + mined + (1 | site)` on salamanders.csv and Gamma(log) `y ~ x + (1 | g)` on
# gamma_generated.csv: set.seed(1); 200 responses from simulate(fit, nsim = 200) (glmmTMB draws new
# random effects and new responses for each), each refitted with glmmTMB (same formula and family);
# collected: fixef, the RE SD and sigma(). Stores every replicate, their SDs, means and
# quantile(type = 7) 2.5% / 97.5%. Writes bootstrap_salamanders_nb2.json and bootstrap_gamma_log.json.
# Usage (repository root): Rscript tests/reference/families/make_bootstrap.R  (about 2 minutes)
source("tests/reference/families/ref_helpers.R")
sal <- read_data("salamanders.csv", c("site", "mined", "spp"))
gam <- read_data("gamma_generated.csv", "g")
nsim <- 200

boot_case <- function(name, data_file, d, formula, family) {
  cat(name, "\n")
  f <- as.formula(formula); resp <- all.vars(f)[1]
  m <- glmmTMB(f, data = d, family = family)
  est <- function(fit) c(fixef(fit)$cond, sd = unname(attr(VarCorr(fit)$cond[[1]], "stddev")), sigma = sigma(fit))
  set.seed(1)
  t0 <- proc.time()[["elapsed"]]
  sims <- simulate(m, nsim = nsim)
  fails <- character(0); nwarn <- 0L
  reps <- t(sapply(seq_len(nsim), function(b) {
    db <- d; db[[resp]] <- sims[[b]]
    r <- tryCatch(with_warnings(glmmTMB(f, data = db, family = family)), error = function(e) { fails <<- c(fails, conditionMessage(e)); NULL })
    if (is.null(r)) return(rep(NA_real_, length(est(m))))
    if (length(r$warnings)) nwarn <<- nwarn + 1L
    if (r$value$fit$convergence != 0) { fails <<- c(fails, paste("replicate", b, "not converged")); return(rep(NA_real_, length(est(m)))) }
    est(r$value)
  }))
  secs <- proc.time()[["elapsed"]] - t0
  nm <- names(est(m)); nm[nm == "sd"] <- paste0("Std.Dev.(Intercept)|", names(m$modelInfo$reTrms$cond$flist)); colnames(reps) <- nm
  ok <- stats::complete.cases(reps)
  q <- apply(reps[ok, , drop = FALSE], 2, quantile, probs = c(0.025, 0.975), type = 7)
  wjson(list(case = name, data = data_file, engine = "glmmTMB 1.1.5 (simulate + refit)", formula = formula,
    family = stats::family(m)$family, link = stats::family(m)$link, seed = "set.seed(1) just before simulate(fit, nsim = 200)",
    nsim = nsim, n_ok = sum(ok), failures = I(fails), replicates_with_warnings = nwarn, seconds = secs,
    names = I(nm), estimate = I(unname(est(m))),
    boot_mean = I(unname(colMeans(reps[ok, , drop = FALSE]))), boot_sd = I(unname(apply(reps[ok, , drop = FALSE], 2, sd))),
    boot_q025 = I(unname(q[1, ])), boot_q975 = I(unname(q[2, ])),
    replicates = unname(reps)), paste0(name, ".json"))
}
boot_case("bootstrap_salamanders_nb2", "salamanders.csv", sal, "count ~ spp + mined + (1 | site)", nbinom2())
boot_case("bootstrap_gamma_log", "gamma_generated.csv", gam, "y ~ x + (1 | g)", Gamma(link = "log"))
cat("done\n")
