"""tutor: a terminal tutor for transformer and LLM interviews."""

__version__ = "0.1.0"
