"""Pipeline primitives (retry, ...); each module is imported on its own."""
