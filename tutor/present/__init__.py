"""Everything the application prints: rich renderables for people, built from plain data."""
