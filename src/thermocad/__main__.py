from thermocad.cli import console

console()
