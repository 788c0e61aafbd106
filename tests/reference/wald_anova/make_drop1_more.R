# drop1 (test = "Chisq") of a glmer with missing values in a dropped variable, of a negative
# binomial glmer at a fixed size (lme4's update of a glmer.nb fit holds its size: this size is
# ours, so the tables compare refits, not the size searches) and of a Gaussian glm:
# Rscript tests/reference/wald_anova/make_drop1_more.R (from the repository root)
suppressMessages({library(lme4); library(MASS); library(jsonlite)})
sal <- read.csv("tests/data/salamanders.csv", stringsAsFactors = TRUE)
ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
tab <- function(a) {
  d <- as.data.frame(a)
  list(terms = rownames(d), columns = names(d), values = lapply(d, function(x) ifelse(is.na(x), NA, x)),
       printed = capture.output(print(a)))
}
out <- list()
na <- sal
na$cover[c(1, 6, 10, 41)] <- NA  # rows 0, 5, 9, 40 counted from 0
m <- glmer(count ~ mined + cover + (1 | site), na, family = poisson, control = ctrl)
out$na_error <- tryCatch({drop1(m, test = "Chisq"); ""}, error = function(e) conditionMessage(e))
m <- glmer(count ~ mined + cover + (1 | site), na.omit(na), family = poisson, control = ctrl)
out$na_drop1 <- tab(drop1(m, test = "Chisq"))
theta <- 0.6391429347906002  # our glmer_nb estimate (lme4's, at its tolerance, is 0.63916)
nb <- glmer(count ~ mined + cover + (1 | site), sal, family = negative.binomial(theta = theta), control = ctrl)
out$nb_drop1 <- tab(drop1(nb, test = "Chisq"))
g <- glm(cover ~ spp + mined + DOY, sal, family = gaussian)
out$gaussian_drop1 <- tab(drop1(g, test = "Chisq"))
write_json(out, "tests/reference/wald_anova/drop1_more.json", digits = NA, auto_unbox = FALSE, pretty = TRUE, na = "null")
