"""onetime: share sensitive text through links that work exactly once."""

__version__ = "0.1.0"
