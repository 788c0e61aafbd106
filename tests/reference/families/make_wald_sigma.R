# glmmTMB's Wald interval of sigma (confint(fit, full = TRUE), its "sigma" row: exp(log theta -+ z se))
# for the NB2 fit `count ~ spp + mined + (1 | site)` on salamanders.csv, with the fixed effects' rows.
# Writes wald_salamanders_nb2.json. Usage (repository root): Rscript tests/reference/families/make_wald_sigma.R
source("tests/reference/families/ref_helpers.R")
sal <- read_data("salamanders.csv", c("site", "mined", "spp"))
m <- glmmTMB(count ~ spp + mined + (1 | site), data = sal, family = nbinom2())
ci <- confint(m, full = TRUE)
wjson(list(case = "wald_salamanders_nb2", data = "salamanders.csv", engine = "glmmTMB 1.1.5",
  formula = "count ~ spp + mined + (1 | site)", family = "nbinom2", confint_wald_full = ci_list(ci)),
  "wald_salamanders_nb2.json")
