# Reference values for tests/test_model_check.py: leverages, Cook's distances, standardized
# residuals, VIFs (performance 0.10.2's check_collinearity) and binned residuals.
# Run from this directory: Rscript make_model_check.R  (R 4.2.2, lme4 1.1-31, glmmTMB 1.1.5,
# performance 0.10.2). Writes model_check.json and mtcars.csv.
suppressMessages({library(lme4); library(performance); library(glmmTMB); library(jsonlite)})

write.csv(mtcars, "mtcars.csv", row.names = FALSE)

# The hat matrix of a mixed model, sqrt(W) [Z Lambda, X] M^{-1} [Z Lambda, X]' sqrt(W) with
# M = A'A + diag(I_q, 0): lme4's hatvalues when W are the prior weights (checked below); for a
# GLMM with W the working weights at the fitted means.
mixed_hat <- function(m, w) {
  Z <- getME(m, "Z"); Lt <- getME(m, "Lambdat"); X <- getME(m, "X")
  A <- sqrt(w) * cbind(as.matrix(Z %*% t(Lt)), X)
  q <- ncol(Z); p <- ncol(X)
  M <- crossprod(A) + diag(c(rep(1, q), rep(0, p)))
  rowSums((A %*% solve(M)) * A)
}
working_weights <- function(m) {
  fam <- family(m); eta <- predict(m, type = "link"); mu <- fitted(m)
  weights(m, type = "prior") * fam$mu.eta(eta)^2 / fam$variance(mu)
}
influence_parts <- function(h, r, phi, p) {
  d <- r / sqrt(phi * (1 - h))
  list(hat = unname(h), cooks_distance = unname(d^2 * h / (p * (1 - h))), std_resid = unname(d))
}
vif_table <- function(m) {
  v <- suppressWarnings(check_collinearity(m))
  out <- as.data.frame(unclass(v))[, c("Term", "VIF", "VIF_CI_low", "VIF_CI_high", "SE_factor",
                                        "Tolerance", "Tolerance_CI_low", "Tolerance_CI_high")]
  as.list(out)
}
mixed_case <- function(m, w) {
  p <- ncol(getME(m, "X")); n <- nobs(m)
  c(influence_parts(mixed_hat(m, w), residuals(m, type = "pearson"), sigma(m)^2, p),
    list(cook_level = qf(0.5, p, n - p)))
}

out <- list()

# lmer fits at mixedmodels' theta (printed by mm.lmer; lme4's optimum differs in the 5th-6th
# digit, which moves Cook's distances by ~1e-5): no optimization, theta as given.
at_theta <- function(theta) list(start = list(theta = theta), control = lmerControl(optimizer = NULL))
lmer_at <- function(formula, data, theta) {
  a <- at_theta(theta)
  lmer(formula, data, start = a$start, control = a$control)
}
m <- lmer_at(Reaction ~ Days + (Days | Subject), sleepstudy,
             c(0.9667329595069271, 0.015169052480021903, 0.2309095978550627))
case <- mixed_case(m, rep(1, nobs(m)))
stopifnot(max(abs(case$hat - hatvalues(m))) < 1e-10)
stopifnot(max(abs(case$cooks_distance - cooks.distance(m))) < 1e-10)
out$lmer_sleepstudy <- c(case, list(lme4_hatvalues = unname(hatvalues(m)),
                                    lme4_cooks_distance = unname(cooks.distance(m))))

w <- seq(0.5, 2, length.out = 180)  # prior weights: lme4's hatvalues weigh by them
m <- lmer(Reaction ~ Days + (1 | Subject), sleepstudy, weights = w, start = list(theta = 1.1371500325005517),
          control = lmerControl(optimizer = NULL))
case <- mixed_case(m, w)
stopifnot(max(abs(case$hat - hatvalues(m))) < 1e-10)
stopifnot(max(abs(case$cooks_distance - cooks.distance(m))) < 1e-10)
out$lmer_weighted <- case

m <- lmer_at(Reaction ~ Days + I(Days^2) + (Days | Subject), sleepstudy,
             c(0.9697430736113701, 0.014934689761420036, 0.23157147814686235))
out$lmer_quadratic <- c(mixed_case(m, rep(1, nobs(m))), list(vif = vif_table(m)))

m <- lmer_at(angle ~ recipe + temp + (1 | replicate), cake, 1.3010250610311607)
out$lmer_cake <- c(mixed_case(m, rep(1, nobs(m))), list(vif = vif_table(m)))

# A GLMM's leverages depend on its estimates, where lme4 stops short of the optimum (cbpp:
# logLik -92.02657 against our -92.02628), so they are also computed at mixedmodels' optimum
# (theta, beta below, printed by mm.glmer): lme4's deviance function at those parameters runs
# its PIRLS to the conditional modes, and the hat matrix is formed from its state there.
at_parameters <- function(formula, data, family, par) {
  dd <- glmer(formula, data, family = family, devFunOnly = TRUE)
  dd(par)
  rho <- environment(dd); pp <- rho$pp; resp <- rho$resp
  A <- resp$sqrtXwt * cbind(as.matrix(t(pp$Zt) %*% t(pp$Lambdat)), pp$X)
  q <- nrow(pp$Zt); p <- ncol(pp$X)
  M <- crossprod(A) + diag(c(rep(1, q), rep(0, p)))
  h <- rowSums((A %*% solve(M)) * A)
  r <- sqrt(resp$weights) * (resp$y - resp$mu) / sqrt(family$variance(resp$mu))
  c(influence_parts(h, r, 1, p), list(cook_level = qf(0.5, p, length(h) - p)))
}
# the levels in mixedmodels.datasets' order (alphabetical)
sal <- transform(Salamanders, spp = factor(spp, levels = sort(levels(spp))),
                 mined = factor(mined, levels = c("no", "yes")))
f <- count ~ mined + spp + cover + (1 | site)
m <- glmer(f, sal, family = poisson)
out$glmer_poisson <- c(
  at_parameters(f, sal, poisson(), c(0.5637325499507002, 1.3846991201247292, -2.395626892394955,
    -0.5991182309116688, -0.44863727997337305, -1.449269160281279, -0.05798725765034925,
    -0.6791609385852053, -2.065455299705096, -0.12042349068114737)),
  list(vif = vif_table(m), lme4_optimum = mixed_case(m, working_weights(m)),
       lme4_hatvalues = unname(suppressWarnings(hatvalues(m)))))

f <- cbind(incidence, size - incidence) ~ period + (1 | herd)
m <- glmer(f, cbpp, family = binomial)
out$glmer_binomial <- c(
  at_parameters(f, cbpp, binomial(), c(0.6422614492371722, -1.3985321425419153, -0.992332734826551,
    -1.1286720840992186, -1.5803138850683245)),
  list(lme4_optimum = mixed_case(m, working_weights(m)),
       lme4_hatvalues = unname(suppressWarnings(hatvalues(m)))))

l <- lm(mpg ~ wt + hp + disp, mtcars)
parts <- influence_parts(hatvalues(l), residuals(l), sigma(l)^2, 4)
stopifnot(max(abs(parts$cooks_distance - cooks.distance(l))) < 1e-10)
stopifnot(max(abs(parts$std_resid - rstandard(l))) < 1e-10)
out$lm_mtcars <- c(parts, list(vif = vif_table(l), cook_level = qf(0.5, 4, 28)))

g <- glm(am ~ wt + hp, mtcars, family = binomial)
parts <- influence_parts(hatvalues(g), residuals(g, type = "pearson"), 1, 3)
stopifnot(max(abs(parts$cooks_distance - cooks.distance(g))) < 1e-10)
stopifnot(max(abs(parts$std_resid - rstandard(g, type = "pearson"))) < 1e-10)
b <- as.data.frame(binned_residuals(g))
out$glm_binomial_mtcars <- c(parts, list(vif = vif_table(g), binned = as.list(b)))

g <- glm(count ~ mined + spp + cover, sal, family = poisson)
parts <- influence_parts(hatvalues(g), residuals(g, type = "pearson"), 1, ncol(model.matrix(g)))
stopifnot(max(abs(parts$cooks_distance - cooks.distance(g))) < 1e-10)
out$glm_poisson <- c(parts, list(vif = vif_table(g)))

writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, na = "null"), "model_check.json")
