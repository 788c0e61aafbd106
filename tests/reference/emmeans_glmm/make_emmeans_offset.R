# emmeans 1.8.4-1 with an offset, and the degrees of freedom of glm families.
# An offset(log(base)) in the formula is averaged over the data (mean(log(base))) for glm and
# lme4 fits, evaluated at the grid's mean of base (log(mean(base))) for glmmTMB fits.
# Rscript tests/reference/emmeans_glmm/make_emmeans_offset.R (from the repository root)
suppressMessages({library(lme4); library(glmmTMB); library(emmeans); library(jsonlite)})
ep <- read.csv("tests/data/epil.csv"); ep$subject <- factor(ep$subject)
ctrl <- glmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-10, maxfun = 1e5))
emm_out <- function(e) {
  s <- as.data.frame(summary(e))
  s[] <- lapply(s, function(x) if (is.factor(x)) as.character(x) else x)
  list(table = s)
}
out <- list()
g <- glm(y ~ trt + offset(log(base)), ep, family = poisson)
out$glm_offset <- emm_out(emmeans(g, ~ trt, type = "response"))
g2 <- glm(y ~ trt, offset = log(base), ep, family = poisson)
out$glm_offset_argument <- emm_out(emmeans(g2, ~ trt, type = "response"))
m <- glmer(y ~ trt + offset(log(base)) + (1 | subject), ep, family = poisson, control = ctrl)
out$glmer_offset <- emm_out(emmeans(m, ~ trt, type = "response"))
out$glmer_offset_link <- emm_out(emmeans(m, ~ trt))
nb <- glmer.nb(y ~ trt + offset(log(base)) + (1 | subject), ep)
out$glmer_nb_offset <- emm_out(emmeans(nb, ~ trt, type = "response"))
t <- glmmTMB(y ~ trt + offset(log(base)) + (1 | subject), ep, family = poisson)
out$glmmTMB_offset <- emm_out(emmeans(t, ~ trt, type = "response"))
q <- glm(y ~ trt + lbase + V4, ep, family = quasipoisson)
out$quasipoisson <- emm_out(emmeans(q, ~ trt, type = "response"))
ep$y1 <- ep$y + 1
gm <- glm(y1 ~ trt + lbase, ep, family = Gamma(link = "log"))
out$gamma <- emm_out(emmeans(gm, ~ trt, type = "response"))
out$versions <- list(emmeans = as.character(packageVersion("emmeans")), lme4 = as.character(packageVersion("lme4")),
                     glmmTMB = as.character(packageVersion("glmmTMB")))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/emmeans_glmm/emmeans_offset.json")
