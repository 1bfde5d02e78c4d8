"""Command-line tools that measure the project against FATE; not part of the package."""
