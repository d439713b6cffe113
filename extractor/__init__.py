"""extractor: targets, projects and livelihood commitments from Chinese government reports."""

__version__ = "0.1.0"
