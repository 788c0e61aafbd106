# relevel() in formulas: R 4.2.2's glm and lme4's glmer coefficients and names
# Rscript tests/reference/relevel/make_relevel.R (from the repository root)
suppressMessages({library(lme4); library(jsonlite)})
cbpp <- read.csv("tests/data/cbpp.csv", stringsAsFactors = TRUE)
cbpp$herd <- factor(cbpp$herd); cbpp$period <- factor(cbpp$period)
sal <- read.csv("tests/data/salamanders.csv", stringsAsFactors = TRUE)
co <- function(m) list(names = names(coef(m)), values = unname(coef(m)))
g1 <- glm(cbind(incidence, size - incidence) ~ relevel(period, "3"), cbpp, family = binomial)
g2 <- glm(count ~ relevel(spp, ref = "GP") * mined, sal, family = poisson)
g3 <- glm(count ~ relevel(spp, 3) + cover, sal, family = poisson)
m1 <- glmer(count ~ relevel(mined, "yes") + (1 | site), sal, family = poisson)
out <- list(glm_period = co(g1), glm_spp_interaction = co(g2), glm_position = co(g3),
            glmer_mined = list(names = names(fixef(m1)), values = unname(fixef(m1))))
write_json(out, "tests/reference/relevel/relevel.json", digits = NA, auto_unbox = FALSE, pretty = TRUE)
