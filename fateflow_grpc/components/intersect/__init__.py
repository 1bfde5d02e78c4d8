"""Private set intersection: the ids the parties share, found without showing the others."""
