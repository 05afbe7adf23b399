"""Cloud drivers: all cloud I/O lives here and only here."""
