# broom.mixed 0.2.9 / broom tables (tidy, glance, augment) for tests/test_tidy_tables.py.
# R 4.2.2, lme4 1.1-31, lmerTest, glmmTMB 1.1.5, broom.mixed 0.2.9.4, broom (Debian).
# Usage (from the repository root): Rscript tests/reference/checks/make_tidy_reference.R
# Data: the package's data sets (src/mixedmodels/datasets/*.csv), factors' levels sorted as strings.
suppressPackageStartupMessages({library(lme4); library(glmmTMB); library(broom.mixed); library(broom)
  library(jsonlite); library(MASS)})
out_dir <- "tests/reference/checks"
ds <- "src/mixedmodels/datasets"
wjson <- function(x, name) writeLines(toJSON(x, auto_unbox = TRUE, digits = NA, na = "null", null = "null",
  dataframe = "columns", pretty = FALSE), file.path(out_dir, paste0(name, ".json")))
as_factors <- function(d, cols) { for (nm in cols) d[[nm]] <- factor(as.character(d[[nm]]),
  levels = sort(unique(as.character(d[[nm]])))); d }
tab <- function(x) { x <- as.data.frame(x); x[] <- lapply(x, function(v) if (is.factor(v)) as.character(v) else v); x }
aug <- function(m, cols) { a <- as.data.frame(suppressWarnings(augment(m))); a[, intersect(cols, names(a)), drop = FALSE] }
AUG <- c(".fitted", ".resid", ".hat", ".cooksd", ".fixed", ".mu", ".offset", ".sqrtXwt", ".sqrtrwt", ".weights",
         ".wtres", ".eta", ".sigma", ".std.resid")

ss <- as_factors(read.csv(file.path(ds, "sleepstudy.csv")), "Subject")
cb <- as_factors(read.csv(file.path(ds, "cbpp.csv")), c("herd", "period"))
sal <- as_factors(read.csv(file.path(ds, "salamanders.csv")), c("site", "spp", "mined"))

m <- lme4::lmer(Reaction ~ Days + (Days | Subject), ss)
wjson(list(formula = "Reaction ~ Days + (Days | Subject)", tidy = tab(tidy(m)),
  tidy_conf = tab(tidy(m, conf.int = TRUE, conf.level = 0.9)),
  ran_vals = tab(tidy(m, effects = "ran_vals", conf.int = TRUE)),
  glance = tab(glance(m)), augment_columns = I(names(augment(m))), augment = aug(m, AUG)), "tidy_sleepstudy_lme4")
m_ml <- lme4::lmer(Reaction ~ Days + (Days | Subject), ss, REML = FALSE)
wjson(list(formula = "Reaction ~ Days + (Days | Subject)", glance = tab(glance(m_ml))), "tidy_sleepstudy_ml")
mt <- lmerTest::lmer(Reaction ~ Days + (Days | Subject), ss)
wjson(list(formula = "Reaction ~ Days + (Days | Subject)", tidy = tab(tidy(mt)),
  tidy_conf = tab(tidy(mt, effects = "fixed", conf.int = TRUE))), "tidy_sleepstudy_lmertest")

g <- glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cb, family = binomial)
wjson(list(formula = "cbind(incidence, size - incidence) ~ period + (1 | herd)",
  tidy_conf = tab(tidy(g, conf.int = TRUE)), ran_vals = tab(tidy(g, effects = "ran_vals", conf.int = TRUE)),
  glance = tab(glance(g)), augment_columns = I(names(suppressWarnings(augment(g)))), augment = aug(g, AUG)),
  "tidy_cbpp_glmer")

nb <- glmer.nb(count ~ mined + (1 | site), data = sal)
wjson(list(formula = "count ~ mined + (1 | site)", tidy = tab(tidy(nb)), glance = tab(glance(nb))), "tidy_salamanders_glmer_nb")

z <- glmmTMB(count ~ mined + (1 | site), sal, family = poisson, ziformula = ~ mined)
wjson(list(formula = "count ~ mined + (1 | site)", ziformula = "~mined", family = "poisson",
  tidy_conf = tab(tidy(z, conf.int = TRUE)), ran_vals = tab(tidy(z, effects = "ran_vals")),
  glance = tab(glance(z))), "tidy_salamanders_zipoisson")
n2 <- glmmTMB(count ~ mined + (1 | site), sal, family = nbinom2)
wjson(list(formula = "count ~ mined + (1 | site)", family = "nbinom2", tidy_conf = tab(tidy(n2, conf.int = TRUE)),
  glance = tab(glance(n2))), "tidy_salamanders_nb2")
gg <- glmmTMB(Reaction ~ Days + (Days | Subject), ss, family = gaussian(link = "log"))
wjson(list(formula = "Reaction ~ Days + (Days | Subject)", family = "gaussian", link = "log", tidy = tab(tidy(gg)),
  glance = tab(glance(gg))), "tidy_sleepstudy_tmb_gaussian_log")

l <- lm(Reaction ~ Days, ss)
wjson(list(formula = "Reaction ~ Days", tidy_conf = tab(tidy(l, conf.int = TRUE)), glance = tab(glance(l)),
  augment_columns = I(names(augment(l))), augment = aug(l, AUG)), "tidy_sleepstudy_lm")
gl <- glm(cbind(incidence, size - incidence) ~ period, cb, family = binomial)
wjson(list(formula = "cbind(incidence, size - incidence) ~ period", tidy_conf = tab(tidy(gl, conf.int = TRUE)),
  glance = tab(glance(gl))), "tidy_cbpp_glm")

gl_aug <- aug(gl, AUG)
wjson(list(formula = "cbind(incidence, size - incidence) ~ period", augment_columns = I(names(augment(gl))),
  augment = gl_aug), "tidy_cbpp_glm_augment")
cat("done\n")
