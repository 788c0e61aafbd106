# Likelihood-ratio tests between glmmTMB fits with zero-inflation and dispersion models
# (tests/test_zero_inflation_inference.py). R 4.2.2, glmmTMB 1.1.5. Run from the repository root:
#   Rscript tests/reference/families/make_zero_inflation_inference.R
# tests/data/zip_generated.csv: 200 rows, 20 groups of 10, x ~ N(0, 1), w ~ Bernoulli(1/2),
# b ~ N(0, 0.5^2), y zero with probability logistic(-1 + 0.8 w), else Poisson(exp(0.5 + 0.4 x + b))
# (numpy default_rng(1); see the test module).
suppressPackageStartupMessages({ library(glmmTMB); library(jsonlite) })
sal <- read.csv("tests/data/salamanders.csv")
for (v in c("site", "mined", "spp")) sal[[v]] <- factor(sal[[v]])
het <- read.csv("tests/data/hetero_generated.csv")
het$g <- factor(het$g); het$grp <- factor(het$grp)
zip <- read.csv("tests/data/zip_generated.csv")
zip$g <- factor(zip$g)

table_of <- function(a) {
  list(npar = a$Df, AIC = a$AIC, BIC = a$BIC, logLik = a$logLik, deviance = a$deviance,
       Chisq = a$Chisq[-1], Df = a[["Chi Df"]][-1], p = a[["Pr(>Chisq)"]][-1])
}
out <- list()
f <- count ~ spp + mined + (1 | site)
nb2 <- glmmTMB(f, sal, family = nbinom2)
zinb1 <- glmmTMB(f, sal, family = nbinom2, ziformula = ~1)
zinbs <- glmmTMB(f, sal, family = nbinom2, ziformula = ~spp)
out$salamanders_nb2_zi <- table_of(anova(nb2, zinb1, zinbs))
h0 <- glmmTMB(y ~ x + (1 | g), het, family = gaussian)
h1 <- glmmTMB(y ~ x + (1 | g), het, family = gaussian, dispformula = ~grp)
out$gaussian_disp <- table_of(anova(h0, h1))
p0 <- glmmTMB(y ~ x + (1 | g), zip, family = poisson)
p1 <- glmmTMB(y ~ x + (1 | g), zip, family = poisson, ziformula = ~1)
p2 <- glmmTMB(y ~ x + (1 | g), zip, family = poisson, ziformula = ~w)
out$zip_generated <- table_of(anova(p0, p1, p2))
ci <- confint(p2, full = TRUE)
out$zip_confint_wald <- list(names = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]))
out$zip_fit <- list(cond = fixef(p2)$cond, zi = fixef(p2)$zi,
                    sd = attr(VarCorr(p2)$cond$g, "stddev"), loglik = as.numeric(logLik(p2)))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/families/zero_inflation_inference.json")

# glmmTMB's confint(full = TRUE) of the zero-inflated nbinom1 fit of owls (its sigma row)
owls <- read.csv("tests/data/owls.csv")
for (v in c("Nest", "FoodTreatment", "SexParent")) owls[[v]] <- factor(owls[[v]])
o <- glmmTMB(SiblingNegotiation ~ FoodTreatment * SexParent + offset(log(BroodSize)) + (1 | Nest),
             owls, family = nbinom1, ziformula = ~1)
ci <- confint(o, full = TRUE)
out$owls_confint_full <- list(names = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE),
           "tests/reference/families/zero_inflation_inference.json")
