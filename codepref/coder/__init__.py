"""The small coder model built here from scratch (no download): see codepref.coder.build."""

from codepref.coder.build import build_coder, cached_coder
from codepref.coder.recipe import CPU_RECIPE, GPU_RECIPE, RECIPES, TEST_RECIPE, CoderRecipe

__all__ = ["CPU_RECIPE", "GPU_RECIPE", "RECIPES", "TEST_RECIPE", "CoderRecipe", "build_coder", "cached_coder"]
