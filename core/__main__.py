"""`python -m flowtui`: the same as the `flowtui` command."""

import sys

from flowtui.cli.main import main

sys.exit(main())
