# glmmTMB 1.1.5 fits of R data sets the tests did not cover (run from the repository root):
# Rscript tests/reference/families/make_glmmtmb_trials.R
suppressMessages({library(glmmTMB); library(jsonlite)})
out <- list()
run <- function(name, formula, data, family) {
  t0 <- Sys.time()
  m <- tryCatch(glmmTMB(as.formula(formula), data, family=family), error=function(e) NULL)
  if (is.null(m)) { out[[name]] <<- list(error=TRUE); return() }
  out[[name]] <<- list(formula=formula, loglik=as.numeric(logLik(m)), fixef=unname(fixef(m)$cond), sigma=sigma(m),
                       secs=as.numeric(Sys.time()-t0, units="secs"), conv=m$fit$convergence, pdHess=m$sdr$pdHess)
}
epil <- read.csv("tests/data/epil.csv"); epil$subject <- factor(epil$subject)
gt <- read.csv("tests/data/grouseticks.csv"); for (v in c("BROOD","INDEX","LOCATION","YEAR")) gt[[v]] <- factor(gt[[v]])
cbpp <- read.csv("tests/data/cbpp.csv"); cbpp$herd <- factor(cbpp$herd); cbpp$period <- factor(cbpp$period)
run("epil_nb2", "y ~ base * trt + age + V4 + (1 | subject)", epil, nbinom2)
run("epil_nb2_slope", "y ~ base * trt + age + V4 + (V4 | subject)", epil, nbinom2)
run("gt_nb2_3", "TICKS ~ YEAR + HEIGHT + (1|BROOD) + (1|INDEX) + (1|LOCATION)", gt, nbinom2)
run("cbpp_nb2_offset", "incidence ~ period + offset(log(size)) + (1 | herd)", cbpp, nbinom2)
run("cbpp_probit", "cbind(incidence, size - incidence) ~ period + (1 | herd)", cbpp, binomial(link="probit"))
run("epil_pois_sqrt", "y ~ base * trt + age + V4 + (1 | subject)", epil, poisson(link="sqrt"))
writeLines(toJSON(out, auto_unbox=TRUE, digits=NA), "tests/reference/families/glmmtmb_trials.json")
