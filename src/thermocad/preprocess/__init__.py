"""Anatomical regions and the input transforms shared by training and inference."""

# What a model sees, by date: bumped whenever regions, transforms or the baseline's features
# change the numbers a model is given for the same file (model.json records it; a model of
# another one is warned about at load, since its threshold and figures were made on other
# inputs). 2026-12-04: marker detection and the chest box corrected; 2026-12-05: the marker
# margin on grey images in the image's own units; 2026-12-05.2: room seen between the arms
# and the head left out of the body mask, the marker's cold region labelled whole.
PREPROCESS_VERSION = "2026-12-05.2"
