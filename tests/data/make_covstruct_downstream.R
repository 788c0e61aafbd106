# glmmTMB 1.1.5 (R 4.2.2) numbers used by tests/test_covstruct_downstream.py: VarCorr and
# summary layout, confint(method="profile") of the ar1 fit, deviance at our profile limits.
suppressMessages(library(glmmTMB))
d <- read.csv("tests/data/long_ar1.csv"); d$times <- factor(d$times); d$id<-factor(d$id)
f <- glmmTMB(y ~ time + ar1(times + 0 | id), data=d, REML=FALSE)
print(VarCorr(f)); print(summary(f))
ci <- confint(f, method="profile", parm="theta_")
print(ci, digits=10)
print(confint(f, method="wald", parm="theta_"), digits=10)
c2 <- read.csv("tests/data/cs_generated.csv"); c2$f<-factor(c2$f); c2$g<-factor(c2$g)
g <- glmmTMB(y ~ f + cs(f + 0 | g), data=c2, REML=FALSE)
print(VarCorr(g)); print(summary(g))
cat("min", -2*logLik(f), "\n")
th <- getME(f,"theta"); print(th)
for (rho in c(0.50539133, 0.76157246)) {
 a <- rho/sqrt(1-rho^2)
 g <- glmmTMB(y ~ time + ar1(times + 0 | id), data=d, REML=FALSE, start=list(theta=c(th[1], a)), map=list(theta=factor(c(1,NA))))
 cat(rho, -2*logLik(g) - (-2*logLik(f)), "\n")
}
g0 <- glmmTMB(y ~ time + ar1(times + 0 | id), data=d, REML=FALSE, dispformula=~0)
cat("sigma0", -2*logLik(g0) - (-2*logLik(f)), "\n")
