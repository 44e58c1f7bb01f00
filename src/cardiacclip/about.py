"""Version and the research notice every output carries (no imports, so any layer may use it)."""

__version__ = "0.2.0"

RESEARCH_NOTICE = "Research software, not a medical device: predictions are not validated for clinical use."
