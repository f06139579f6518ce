"""One module per source system; each writes its own files and records its own truth."""
