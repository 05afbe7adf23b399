"""The action engine: plan → journal → apply → verify → record, and undo."""
