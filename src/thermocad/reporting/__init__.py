"""The HTML report, its model card, plots and galleries."""
