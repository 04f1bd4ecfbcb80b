"""thermocad: computer-aided detection of breast cancer in infrared thermograms."""

from thermocad.errors import ThermalFormatError, ThermocadError
from thermocad.thermal import Thermogram, read_thermal

__version__ = "0.1.0"
CLASSES = ("Healthy", "Sick")  # index 1 is the positive class: probabilities are P(Sick)

__all__ = [
    "CLASSES",
    "Thermogram",
    "ThermalFormatError",
    "ThermocadError",
    "read_thermal",
    "__version__",
]
