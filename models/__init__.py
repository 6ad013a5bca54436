"""Models, training loop, metrics and reports (PyTorch / scikit-learn). No Dagster here."""
