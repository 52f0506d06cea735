import sys

from piiguard.detection.main import main

sys.exit(main())
