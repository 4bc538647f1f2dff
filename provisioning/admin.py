"""Console registration of provisioning: the CSV import pages."""
from __future__ import annotations

from provisioning import console_pages  # noqa: F401  (registers the import pages)
