"""Anatomical regions and the input transforms shared by training and inference."""
