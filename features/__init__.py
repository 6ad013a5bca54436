"""Feature computation (time series, labels, splits, CXR, notes, embeddings, the feature store). No Dagster here."""
