# glmmTMB 1.1.5's summaries, predictions of every type (the fit's first rows and new data with a
# level not in the fit) and Pearson residuals of the zero-inflation, hurdle and dispersion
# reference models: tests/reference/families/zero_inflation_report.json
# (tests/test_zero_inflation_report.py). Run from the repository root:
#   Rscript tests/reference/families/make_zero_inflation_report.R
suppressMessages({ library(glmmTMB); library(jsonlite) })
load_csv <- function(name, factors) {
  d <- read.csv(file.path("tests/data", name))
  for (f in factors) d[[f]] <- factor(d[[f]])
  d
}
sal <- load_csv("salamanders.csv", c("site", "mined", "spp"))
owls <- load_csv("owls.csv", c("Nest", "FoodTreatment", "SexParent"))
het <- load_csv("hetero_generated.csv", c("g", "grp"))
het_zero <- het  # responses below 1 set to 0: a zero-inflated Gaussian (its summary's Residual row)
het_zero$y <- ifelse(het_zero$y < 1, 0, het_zero$y)

# a few rows of the data and one more with a new level of the grouping factor
with_new_level <- function(d, rows, group, level) {
  nd <- d[c(rows, rows[1]), ]
  nd[[group]] <- factor(as.character(nd[[group]]), levels = c(levels(d[[group]]), level))
  nd[[group]][length(rows) + 1] <- level
  rownames(nd) <- NULL
  nd
}

cases <- list(
  salamanders_zinb2 = list(
    fit = glmmTMB(count ~ spp * mined + (1 | site), sal, family = nbinom2, ziformula = ~spp),
    new = with_new_level(sal, c(1, 2, 300, 600), "site", "NEW"), group = "site"),
  owls_nb1_zi = list(
    fit = glmmTMB(SiblingNegotiation ~ FoodTreatment * SexParent + offset(log(BroodSize)) + (1 | Nest),
                  owls, family = nbinom1, ziformula = ~1),
    new = with_new_level(owls, c(1, 2, 100), "Nest", "NEW"), group = "Nest"),
  salamanders_hurdle_nb2 = list(
    fit = glmmTMB(count ~ spp + mined + (1 | site), sal, family = truncated_nbinom2, ziformula = ~spp + mined),
    new = with_new_level(sal, c(1, 2, 300, 600), "site", "NEW"), group = "site"),
  gaussian_dispformula = list(
    fit = glmmTMB(y ~ x + (1 | g), het, family = gaussian, dispformula = ~grp),
    new = with_new_level(het, c(1, 2, 150, 300), "g", "NEW"), group = "g"),
  gaussian_zi = list(
    fit = glmmTMB(y ~ x + (1 | g), het_zero, family = gaussian, ziformula = ~1),
    new = with_new_level(het_zero, c(1, 2, 150, 300), "g", "NEW"), group = "g")
)
types <- c("link", "response", "conditional", "zprob", "zlink", "disp")
out <- lapply(cases, function(case) {
  fit <- case$fit
  head_pred <- lapply(setNames(types, types), function(t) unname(head(predict(fit, type = t), 6)))
  new_pred <- lapply(setNames(types, types), function(t)
    unname(predict(fit, newdata = case$new, type = t, allow.new.levels = TRUE)))
  new_cols <- case$new
  for (n in names(new_cols)) if (is.factor(new_cols[[n]])) new_cols[[n]] <- as.character(new_cols[[n]])
  pearson <- residuals(fit, type = "pearson")
  list(
    summary = capture.output(print(summary(fit))),
    predict_head = head_pred,
    newdata = new_cols,
    predict_new = new_pred,
    resid_pearson_head = unname(head(pearson, 6)),
    resid_response_head = unname(head(residuals(fit, type = "response"), 6))
  )
})
out$engine <- paste("glmmTMB", packageVersion("glmmTMB"))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null"),
           "tests/reference/families/zero_inflation_report.json")
