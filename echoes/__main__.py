import sys

from echoes.cli import main

sys.exit(main())
