"""TAP IR, compiler and adapter seams, and ModelProvider."""
