"""Exceptions: every error a user can cause is a ThermocadError with a readable message."""


class ThermocadError(Exception):
    """Base class; the CLI prints these as one line instead of a traceback."""


class ThermalFormatError(ThermocadError, ValueError):
    """A thermal file is malformed or implausible (the message names the file and the problem).
    `failures`: (file, error) of each file that failed, where thermocad.predict raised it."""

    failures: tuple[tuple[str, str], ...] | list[tuple[str, str]] = ()


class CohortError(ThermocadError, ValueError):
    """The patient table or the cohort is inconsistent (unknown labels, duplicates, ...)."""


class SplitLeakError(ThermocadError, ValueError):
    """A patient appears in more than one split."""


class ModelFormatError(ThermocadError, ValueError):
    """A model file is missing, pickled, or does not match its model.json."""


class ConfigError(ThermocadError, ValueError):
    """An option or configuration value is invalid (unknown architecture, bad split, ...)."""


class OutputPathError(ThermocadError, OSError):
    """An output cannot be written where it was asked for (no folder, no permission)."""


class OutputExistsError(ThermocadError, FileExistsError):
    """An output would overwrite existing data and --force was not given."""


class OutputBusyError(ThermocadError, OSError):
    """Another thermocad process is writing the same output folder."""


class ImplausibleThermogramError(ThermalFormatError):
    """A readable array that cannot be a breast thermogram (too small, constant, no body)."""


class TrainingDivergedError(ThermocadError, ArithmeticError):
    """Training's loss became NaN or infinite (a learning rate too high). Said as raised:
    fastai rewrites the message of an error raised in a callback, not what str() gives here."""

    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said

    def __str__(self) -> str:
        return self.said
