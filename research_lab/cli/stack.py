"""`research-lab stack` (filled in by its issue)."""


def register(sub) -> None:
    """Add this command's parser to `sub`; a stub until the command lands."""
