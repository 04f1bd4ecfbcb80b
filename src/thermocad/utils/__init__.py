"""Shared plumbing: errors, safe output files, tables and progress."""
