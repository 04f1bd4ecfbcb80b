import sys

from thermocad.cli import main

sys.exit(main())
