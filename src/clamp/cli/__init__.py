"""The ``clamp`` command: thin — parses, calls the library, renders."""
