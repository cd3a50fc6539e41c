import sys

from dockwright.main import main

sys.exit(main())
