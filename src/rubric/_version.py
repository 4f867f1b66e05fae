"""The engine version, quoted in every result."""

__version__ = "0.1.0"
