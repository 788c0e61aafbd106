"""Text and HTML in R's layouts, kept apart from the numbers."""
