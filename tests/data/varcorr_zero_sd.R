# lme4 1.1-31 (R 4.2.2): VarCorr of an unstructured term with a zero SD (NaN correlation);
# the numbers in tests/test_covstruct_downstream.py::test_varcorr_of_an_unstructured_term_with_a_zero_sd_is_nan_as_lme4.
suppressMessages(library(lme4))
f <- lmer(Reaction ~ Days + (Days|Subject), sleepstudy, start=list(theta=c(0.9, 0.1, 0)), control=lmerControl(optimizer=NULL))
print(getME(f, "theta"))
print(VarCorr(f))
print(as.data.frame(VarCorr(f)))
print(attr(VarCorr(f)$Subject, "correlation"))
f2 <- lmer(Reaction ~ Days + (Days|Subject), sleepstudy, start=list(theta=c(0, 0, 0.2)), control=lmerControl(optimizer=NULL))
print(VarCorr(f2)); print(as.data.frame(VarCorr(f2)))

# Output:
# boundary (singular) fit: see help('isSingular')
#      Subject.(Intercept) Subject.Days.(Intercept)             Subject.Days 
#                      0.9                      0.1                      0.0 
#  Groups   Name        Std.Dev. Corr 
#  Subject  (Intercept) 25.5399       
#           Days         2.8378  1.000
#  Residual             28.3777       
#        grp        var1 var2       vcov     sdcor
# 1  Subject (Intercept) <NA> 652.287469 25.539919
# 2  Subject        Days <NA>   8.052932  2.837769
# 3  Subject (Intercept) Days  72.476385  1.000000
# 4 Residual        <NA> <NA> 805.293172 28.377688
#             (Intercept) Days
# (Intercept)           1    1
# Days                  1    1
# boundary (singular) fit: see help('isSingular')
#  Groups   Name        Std.Dev. Corr 
#  Subject  (Intercept)  0.0000       
#           Days         5.9457    NaN
#  Residual             29.7287       
#        grp        var1 var2      vcov     sdcor
# 1  Subject (Intercept) <NA>   0.00000  0.000000
# 2  Subject        Days <NA>  35.35181  5.945739
# 3  Subject (Intercept) Days   0.00000       NaN
# 4 Residual        <NA> <NA> 883.79523 29.728694
