"""podtwin: AI twins of a podcast's host and guests, built from their transcripts."""

__version__ = "0.1.0"
