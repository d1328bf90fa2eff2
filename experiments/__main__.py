"""`python -m experiments`: see `experiments._runner.main`."""

import matplotlib

matplotlib.use("Agg")  # figures are only ever saved as files; never open a window

from ._runner import main

raise SystemExit(main())
