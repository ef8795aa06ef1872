"""Compilers shipped with the kernel (model-family compilers live in plugins)."""
