# emmeans 1.8 on a glmmTMB 1.1.5 fit with an offset in the formula (the offset's variable held
# at its mean): Rscript tests/reference/families/make_emmeans_offset.R (from the repository root)
suppressMessages({library(glmmTMB); library(emmeans); library(jsonlite)})
data(Owls, package = "glmmTMB")
owls <- Owls[, c("Nest", "FoodTreatment", "SexParent", "BroodSize", "SiblingNegotiation")]
write.csv(owls, "tests/data/owls.csv", row.names = FALSE)
d <- read.csv("tests/data/owls.csv", stringsAsFactors = TRUE)
m <- glmmTMB(SiblingNegotiation ~ FoodTreatment + offset(log(BroodSize)) + (1 | Nest), d, family = nbinom2)
e <- summary(emmeans(m, ~ FoodTreatment, type = "response"))
el <- summary(emmeans(m, ~ FoodTreatment))
out <- list(formula = "SiblingNegotiation ~ FoodTreatment + offset(log(BroodSize)) + (1 | Nest)",
            levels = as.character(e$FoodTreatment), response = e$response, SE = e$SE,
            lower = e$lower.CL, upper = e$upper.CL, emmean_link = el$emmean, SE_link = el$SE,
            loglik = as.numeric(logLik(m)))
write_json(out, "tests/reference/families/emmeans_offset.json", digits = NA, auto_unbox = TRUE)
