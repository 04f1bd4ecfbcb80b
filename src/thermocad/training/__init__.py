"""Training: the configuration, the data, the study's recipe and the run folder."""
