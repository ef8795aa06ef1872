"""Adapters shipped with the kernel, and import shims for plugin adapters."""
