"""Reading thermal data: DMR-IR text matrices, images, file names, the patient table, rendering."""
