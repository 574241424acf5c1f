"""focusgql: a GraphQL API for focus-session tracking."""

__version__ = "0.1.0"
