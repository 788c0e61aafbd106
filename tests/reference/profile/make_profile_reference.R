# lme4's profile intervals for the two models of issue 14 whose intervals we once got wrong.
# Rscript tests/reference/profile/make_profile_reference.R tests/reference/profile
# (the data are tests/data/orthodont.csv and chickweight.csv: nlme's Orthodont, R's ChickWeight)
suppressPackageStartupMessages({ library(lme4); library(jsonlite) })
out <- commandArgs(trailingOnly = TRUE)[1]
data(Orthodont, package = "nlme")
cases <- list(
  orthodont = list(formula = "distance ~ age * Sex + (age | Subject)", data = as.data.frame(Orthodont)),
  chickweight = list(formula = "weight ~ Time * Diet + (Time | Chick)", data = as.data.frame(ChickWeight))
)
for (name in names(cases)) {
  cs <- cases[[name]]
  m <- lmer(as.formula(cs$formula), cs$data)
  warned <- character(0)
  ci <- withCallingHandlers(confint(m, method = "profile"), warning = function(w) {
    warned <<- c(warned, conditionMessage(w)); invokeRestart("muffleWarning")
  })
  res <- list(case = name, formula = cs$formula, lme4 = as.character(packageVersion("lme4")),
              rownames = rownames(ci), lower = unname(ci[, 1]), upper = unname(ci[, 2]), warnings = warned)
  writeLines(toJSON(res, auto_unbox = TRUE, digits = NA), file.path(out, paste0(name, ".json")))
}
