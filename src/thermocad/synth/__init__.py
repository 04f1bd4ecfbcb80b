"""Synthetic, physics-based breast thermograms in the DMR-IR text format."""
