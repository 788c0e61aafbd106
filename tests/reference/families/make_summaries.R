# Item 5 of issue 28's reference sets: glmmTMB 1.1.5's printed summary() and print() of
# family fits, as text, for copying glmmTMB's layout. The three asked for (NB2 Salamanders
# `count ~ spp * mined + (1 | site)`, Gamma(log) and beta `y ~ x + (1 | g)`) and, for the
# dispersion lines of other families, truncated NB2, NB1, Gaussian(log), Poisson and the
# fixed-effects-only NB2. Data frames are named `data` in every call, so the "Data:" line reads data.
# Writes summaries_glmmtmb.json. Usage (repository root): Rscript tests/reference/families/make_summaries.R
source("tests/reference/families/ref_helpers.R")
sal <- read_data("salamanders.csv", c("site", "mined", "spp"))
gam <- read_data("gamma_generated.csv", "g")
bet <- read_data("beta_generated.csv", "g")
gau <- read_data("gaussian_log_generated.csv", "g")
gt <- read_data("grouseticks_nb.csv", c("BROOD", "YEAR", "LOCATION"))

txt <- function(x) paste(x, collapse = "\n")
one <- function(name, data_file, data, formula, family) {
  cat(name, "\n")
  m <- eval(bquote(glmmTMB(.(as.formula(formula)), data = data, family = .(family))))
  list(case = name, data = data_file, formula = formula, family = stats::family(m)$family, link = stats::family(m)$link,
    loglik = as.numeric(logLik(m)), summary_text = txt(capture.output(summary(m))), print_text = txt(capture.output(print(m))))
}
out <- list(engine = "glmmTMB 1.1.5, R 4.2.2", note = "summary_text: capture.output(summary(fit)); print_text: capture.output(print(fit))",
  cases = list(
    one("salamanders_nb2", "salamanders.csv", sal, "count ~ spp * mined + (1 | site)", quote(nbinom2())),
    one("gamma_log", "gamma_generated.csv", gam, "y ~ x + (1 | g)", quote(Gamma(link = "log"))),
    one("beta_logit", "beta_generated.csv", bet, "y ~ x + (1 | g)", quote(beta_family())),
    one("salamanders_truncnb2", "salamanders.csv", sal[sal$count > 0, ], "count ~ spp + mined + (1 | site)", quote(truncated_nbinom2())),
    one("grouseticks_nb1", "grouseticks_nb.csv", gt, "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)", quote(nbinom1())),
    one("gaussian_log", "gaussian_log_generated.csv", gau, "y ~ x + (1 | g)", quote(gaussian(link = "log"))),
    one("grouseticks_poisson", "grouseticks_nb.csv", gt, "TICKS ~ YEAR + cHEIGHT + (1 | BROOD)", quote(poisson())),
    one("salamanders_nb2_fixed", "salamanders.csv", sal, "count ~ spp * mined", quote(nbinom2()))))
wjson(out, "summaries_glmmtmb.json")
cat("done\n")
