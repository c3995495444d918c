"""Restore whole folders: planning, manifest, local process pool and Ray."""
