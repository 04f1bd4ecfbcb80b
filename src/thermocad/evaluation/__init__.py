"""Clinical-study metrics, evaluation of predictions and architecture comparison."""
