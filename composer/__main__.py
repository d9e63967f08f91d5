"""Run Composer with ``python -m composer``."""

import sys

from composer.app import main

sys.exit(main())
