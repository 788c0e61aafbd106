# lme4's fit of mlmRev's Contraception (tests/data/contraception.csv is write.csv(Contraception)):
# its Laplace SEs, which a Hessian check must not call noisy (curvatures of very different scales)
library(lme4); library(jsonlite); library(mlmRev)
write.csv(Contraception, "contraception.csv", row.names = FALSE)
m <- glmer(use ~ age + I(age^2) + urban + livch + (1 | district), Contraception, family = binomial)
cat(toJSON(list(deviance = deviance(m), fixef = as.list(fixef(m)),
                se = as.list(sqrt(diag(as.matrix(vcov(m))))), theta = getME(m, "theta")),
           digits = NA, auto_unbox = TRUE))
