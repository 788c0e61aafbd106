# Kenward-Roger and ANOVA tables of every type from lmerTest 3.1-3 / pbkrtest 0.5.2, for
# tests/test_kenward_roger.py and tests/test_anova_types.py. Run from the repository root:
#   Rscript tests/reference/extra/make_kr_reference.R
# It writes the unbalanced data sets it makes to tests/data/ and the values to
# tests/reference/extra/kr_cases.json. Fits use a tight BOBYQA so that R's optimum is the exact
# one (lme4's default stops within ~1e-4 of theta, which moves the adjusted SEs at that level).
suppressPackageStartupMessages({ library(lmerTest); library(pbkrtest); library(jsonlite) })
datasets <- "src/mixedmodels/datasets"
tight <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e5))

write_data <- function(d, name) {
  write.csv(d, file.path("tests/data", name), row.names = FALSE)
  name
}
penicillin <- read.csv(file.path(datasets, "penicillin.csv"))
pen_unb <- penicillin[-seq(2, nrow(penicillin), by = 5), ]
pastes <- read.csv(file.path(datasets, "pastes.csv"))
pastes_unb <- pastes[-seq(1, nrow(pastes), by = 4), ]
sleep <- read.csv(file.path(datasets, "sleepstudy.csv"))
sleep_unb <- sleep[-seq(3, nrow(sleep), by = 7), ]
cake <- read.csv(file.path(datasets, "cake.csv"))
cake$tcat <- cut(cake$temp, c(0, 190, 210, 300), labels = c("low", "mid", "high"))
cake$half <- ifelse(cake$replicate <= 8, "early", "late")
set.seed(20240601)
cake3 <- cake[sort(sample(nrow(cake), 200)), c("angle", "recipe", "tcat", "half", "replicate", "temp")]
stopifnot(all(table(cake3$recipe, cake3$tcat, cake3$half) > 0))

files <- list(
  penicillin = "penicillin.csv",
  penicillin_unbalanced = write_data(pen_unb, "penicillin_unbalanced.csv"),
  pastes_unbalanced = write_data(pastes_unb, "pastes_unbalanced.csv"),
  sleepstudy_unbalanced = write_data(sleep_unb, "sleepstudy_unbalanced.csv"),
  cake_three_factor = write_data(cake3, "cake_three_factor.csv")
)

cases <- list(
  penicillin_crossed = list(data = "penicillin", formula = "diameter ~ 1 + (1 | plate) + (1 | sample)"),
  penicillin_crossed_unbalanced = list(data = "penicillin_unbalanced",
                                       formula = "diameter ~ 1 + (1 | plate) + (1 | sample)"),
  penicillin_sample = list(data = "penicillin_unbalanced", formula = "diameter ~ sample + (1 | plate)",
                           L = rbind(c(0, 1, 0, 0, 0, 0), c(0, 0, 1, -1, 0, 0))),
  penicillin_sample_rank2of3 = list(data = "penicillin_unbalanced", formula = "diameter ~ sample + (1 | plate)",
                                    L = rbind(c(0, 1, 0, 0, 0, 0), c(0, 0, 1, -1, 0, 0), c(0, 1, 1, -1, 0, 0))),
  pastes_unbalanced = list(data = "pastes_unbalanced", formula = "strength ~ cask + (1 | batch) + (1 | batch:cask)"),
  sleepstudy_unbalanced = list(data = "sleepstudy_unbalanced", formula = "Reaction ~ Days + (Days | Subject)",
                               L = rbind(c(1, 0), c(1, 5))),
  cake_three_factor = list(data = "cake_three_factor",
                           formula = "angle ~ recipe * tcat * half + (1 | recipe:replicate)"),
  cake_covariate = list(data = "cake_three_factor", formula = "angle ~ recipe * temp + half + (1 | recipe:replicate)")
)

columns <- function(tab) {
  list(terms = rownames(tab), SumSq = tab[["Sum Sq"]], MeanSq = tab[["Mean Sq"]], NumDF = tab$NumDF,
       DenDF = tab$DenDF, F = tab[["F value"]], p = tab[["Pr(>F)"]])
}
out <- list()
for (name in names(cases)) {
  cs <- cases[[name]]
  d <- read.csv(file.path(if (cs$data == "penicillin") datasets else "tests/data", files[[cs$data]]))
  for (col in names(d)) if (is.character(d[[col]])) d[[col]] <- factor(d[[col]])  # levels sorted, as pandas
  m <- lmer(as.formula(cs$formula), d, control = tight)
  kr <- coef(summary(m, ddf = "Kenward-Roger"))
  sat <- coef(summary(m, ddf = "Satterthwaite"))
  res <- list(data = files[[cs$data]], formula = cs$formula, fixef_names = names(fixef(m)),
              theta = unname(getME(m, "theta")), objective = REMLcrit(m),
              vcov = unname(as.matrix(vcov(m))), vcov_adj = unname(as.matrix(vcovAdj(m))),
              kr = list(se = unname(kr[, "Std. Error"]), df = unname(kr[, "df"]), t = unname(kr[, "t value"]),
                        p = unname(kr[, "Pr(>|t|)"])),
              satterthwaite = list(df = unname(sat[, "df"]), p = unname(sat[, "Pr(>|t|)"])))
  if (length(attr(terms(m), "term.labels"))) {
    for (type in 1:3) for (ddf in c("Satterthwaite", "Kenward-Roger")) {
      key <- paste0(if (ddf == "Satterthwaite") "satterthwaite" else "kr", "_anova", type)
      res[[key]] <- columns(anova(m, type = type, ddf = ddf))
    }
  }
  if (!is.null(cs$L)) {
    res$L <- cs$L
    res$contest_kr <- columns(contest(m, cs$L, ddf = "Kenward-Roger"))
    res$contest_satterthwaite <- columns(contest(m, cs$L, ddf = "Satterthwaite"))
    km <- KRmodcomp(m, cs$L)$test
    res$krmodcomp <- list(F = km["Ftest", "stat"], ndf = km["Ftest", "ndf"], ddf = km["Ftest", "ddf"],
                          F_scaling = km["Ftest", "F.scaling"], p = km["Ftest", "p.value"])
  }
  out[[name]] <- res
}
out$versions <- list(lme4 = as.character(packageVersion("lme4")), lmerTest = as.character(packageVersion("lmerTest")),
                     pbkrtest = as.character(packageVersion("pbkrtest")))
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, matrix = "rowmajor"), "tests/reference/extra/kr_cases.json")
