"""cardiacclip: few-shot LVEF prediction from echocardiogram videos (CardiacCLIP, MICCAI 2025).

Research software, not a medical device: its outputs must not be used for diagnosis or
treatment decisions.
"""

__version__ = "0.1.0"

RESEARCH_NOTICE = (
    "Research software, not a medical device: predictions are not validated for clinical use."
)
