"""Lambda entry points. Each handler is thin: observability decorators, then one call."""
