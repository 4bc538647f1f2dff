"""skillhub: a multi-tenant learning and skills platform."""

__version__ = "0.1.0"
