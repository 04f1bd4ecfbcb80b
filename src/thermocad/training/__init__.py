"""Training: the configuration, the data, the study's recipe and the run folder."""

import warnings

# fastai's own import calls torch.jit.script, deprecated in the torch this project pins: a
# warning at the top of every training, in a notebook or a script, that is not the user's to
# fix (the CLI sets the same filter before anything is imported).
warnings.filterwarnings("ignore", r"`torch\.jit\.script` is deprecated", FutureWarning)
