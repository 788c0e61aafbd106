"""Fixed-effects models: ``lm`` and ``glm``."""
