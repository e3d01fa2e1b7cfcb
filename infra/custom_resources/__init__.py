"""Code of the stack's custom resources: each folder is the asset of one small function."""
