# Reference values for mixedmodels.emmeans: estimated marginal means and their pairwise contrasts.
# R 4.2, lme4 1.1-31, lmerTest 3.1-3, pbkrtest 0.5.2, emmeans 1.8.4.
# Usage (from this folder): Rscript make_emmeans.R
# Writes DATA.csv (the exact rows each model saw) and CASE.json beside this script.
suppressPackageStartupMessages({library(lme4); library(emmeans); library(jsonlite); library(MASS)})

sorted_levels <- function(d) {
  for (nm in names(d)) if (is.factor(d[[nm]]))
    d[[nm]] <- factor(as.character(d[[nm]]), levels = sort(unique(as.character(d[[nm]]))))
  d
}
rows_of <- function(df) lapply(seq_len(nrow(df)), function(i) lapply(as.list(df[i, , drop = FALSE]),
  function(v) if (is.factor(v)) as.character(v) else v))

one_call <- function(m, specs, by = NULL, ddf = NULL, adjust = c("tukey", "bonferroni")) {
  args <- list(m, specs = specs)
  if (!is.null(by)) args$by <- by
  if (!is.null(ddf)) args$lmer.df <- ddf
  e <- suppressMessages(do.call(emmeans, args))
  out <- list(specs = I(specs), by = if (is.null(by)) NULL else I(by), ddf = ddf,
              table = rows_of(as.data.frame(summary(e))), printed = I(capture.output(print(e))),
              linfct = e@linfct, pairs = list())
  for (a in adjust) {
    p <- pairs(e, adjust = a)
    out$pairs[[a]] <- list(table = rows_of(as.data.frame(summary(p))), printed = I(capture.output(print(p))))
  }
  out
}

write_case <- function(name, dataname, d, formula, model, calls, REML = TRUE) {
  write.csv(d, paste0(dataname, ".csv"), row.names = FALSE)
  out <- list(case = name, data = paste0(dataname, ".csv"), formula = formula, model = model,
              REML = if (model == "lmer") REML else NULL, calls = calls)
  writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE),
             paste0(name, ".json"))
  cat(name, "ok\n")
}

fit_lmer <- function(formula, d, REML = TRUE) lme4::lmer(as.formula(formula), data = d, REML = REML)

# 1. oats, unbalanced (8 plots' rows dropped), three fixed factors, blocks fixed, whole plots random.
oats_u <- sorted_levels(as.data.frame(oats))
set.seed(7); oats_u <- oats_u[-sample(nrow(oats_u), 8), ]
f1 <- "Y ~ B + V * N + (1 | B:V)"
m1 <- fit_lmer(f1, oats_u)
write_case("oats_unbalanced", "oats_unbalanced", oats_u, f1, "lmer", list(
  one_call(m1, "V", ddf = "kenward-roger"),
  one_call(m1, "V", ddf = "satterthwaite"),
  one_call(m1, "N", by = "V", ddf = "kenward-roger", adjust = c("tukey", "holm")),
  one_call(m1, "N", by = "V", ddf = "satterthwaite", adjust = c("tukey", "none")),
  one_call(m1, c("V", "N"), ddf = "satterthwaite", adjust = c("sidak"))))

# 2. CO2: a covariate (through log) in an interaction; missing responses drop rows, so the
#    covariate's mean is over the rows used in the fit.
co2 <- sorted_levels(as.data.frame(CO2)); co2$Plant <- factor(as.character(co2$Plant))
co2$uptake[c(7, 14, 21, 30, 50)] <- NA
f2 <- "uptake ~ Type * Treatment + log(conc) + Type:log(conc) + (1 | Plant)"
m2 <- fit_lmer(f2, co2)
write_case("co2_covariate", "co2_missing", co2, f2, "lmer", list(
  one_call(m2, "Type", ddf = "kenward-roger"),
  one_call(m2, "Type", ddf = "satterthwaite"),
  one_call(m2, "Treatment", by = "Type", ddf = "satterthwaite")))

# 3. warpbreaks, unbalanced, by lm.
wb <- sorted_levels(warpbreaks); set.seed(3); wb <- wb[-sample(nrow(wb), 7), ]
f3 <- "breaks ~ wool * tension"
m3 <- lm(as.formula(f3), wb)
write_case("warpbreaks_lm", "warpbreaks_unbalanced", wb, f3, "lm", list(
  one_call(m3, "tension", adjust = c("tukey", "bonferroni", "none")),
  one_call(m3, "wool", by = "tension", adjust = c("tukey", "bonferroni"))))

# 4. mtcars by lm: factor(cyl) made in the formula, a two-valued covariate (am: emmeans keeps
#    both values in the grid and averages over them), a covariate at its mean.
mt <- mtcars[, c("mpg", "cyl", "am", "wt")]
f4 <- "mpg ~ factor(cyl) * am + wt"
m4 <- lm(as.formula(f4), mt)
write_case("mtcars_lm", "mtcars", mt, f4, "lm", list(one_call(m4, "cyl")))

# 5. warpbreaks with an empty cell (wool B at tension H): non-estimable means and contrasts.
wb2 <- sorted_levels(warpbreaks); wb2 <- wb2[!(wb2$wool == "B" & wb2$tension == "H"), ]
m5 <- lm(as.formula(f3), wb2)
write_case("warpbreaks_empty_cell", "warpbreaks_empty_cell", wb2, f3, "lm", list(
  one_call(m5, "tension"), one_call(m5, "wool")))

# 6. oats with an empty cell by lmer: lme4 drops the aliased column.
oats_e <- sorted_levels(as.data.frame(oats)); oats_e <- oats_e[!(oats_e$V == "Victory" & oats_e$N == "0.6cwt"), ]
m6 <- suppressMessages(fit_lmer(f1, oats_e))
write_case("oats_empty_cell", "oats_empty_cell", oats_e, f1, "lmer", list(
  one_call(m6, "N", ddf = "satterthwaite"), one_call(m6, "N", by = "V", ddf = "kenward-roger")))
