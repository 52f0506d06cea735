import sys

from piiguard.cli import main

sys.exit(main())
