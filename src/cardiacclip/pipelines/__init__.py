"""End-to-end jobs: the demo on the built-in synthetic default and the paper's benchmark."""
