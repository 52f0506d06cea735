import sys

from piiguard.ingest.main import main

sys.exit(main())
