"""``python -m pytracking_slt.workspace install|uninstall|check PATH``."""
import sys

from pytracking_slt.workspace.cli import main

sys.exit(main())
