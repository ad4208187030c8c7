"""A handler module whose import fails, as a function with a broken dependency would."""

raise ImportError("a dependency is missing")
