"""Architectures (registry, pretrained weights), the classical baseline and the model bundle."""
