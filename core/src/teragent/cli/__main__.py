import sys

from teragent.cli import main

sys.exit(main())
