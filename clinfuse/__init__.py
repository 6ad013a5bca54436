"""clinfuse: CLI, configuration and the public Python API."""
