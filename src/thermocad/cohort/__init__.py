"""From files to a cohort: the study's filters (prepare) and patient-grouped splits."""
