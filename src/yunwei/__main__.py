import sys

from yunwei.cli import main

sys.exit(main())
