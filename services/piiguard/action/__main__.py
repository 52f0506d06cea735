import sys

from piiguard.action.main import main

sys.exit(main())
