"""Version and the research notice every output carries (no imports, so any layer may use it).

Tested by tests/model/test_predictor.py and tests/jobs/test_demo.py (the notice on every output).
"""

__version__ = "0.2.0"

RESEARCH_NOTICE = "Research software, not a medical device: predictions are not validated for clinical use."
