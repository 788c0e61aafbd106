"""Inference for fitted models: Satterthwaite and Kenward-Roger, anova, ranova, emmeans, analysis of
deviance.
"""
