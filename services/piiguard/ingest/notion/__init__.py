"""Notion as a second source: poll watched databases, turn page versions into Events."""
