"""Profile likelihoods and the confidence intervals read from them."""
