"""Shared test fixtures."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("PYTENSOR_FLAGS", f"base_compiledir={tempfile.gettempdir()}/spm_pytensor")
os.environ.setdefault("MPLBACKEND", "Agg")
