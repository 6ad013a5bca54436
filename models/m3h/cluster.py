"""The phenotyping task (C3, C6 #13): 15-cluster K-means on the autoencoder's latent, with three numbers that
can be compared across models: the silhouette on the latent (the paper's, not like-for-like between models), the
silhouette of the same cluster labels in a FIXED space (PCA of the standardised inputs, fitted on the training
rows), and the reconstruction MSE."""

from __future__ import annotations

import numpy as np


def fixed_space(train_x: np.ndarray, components: int, seed: int):
    """A PCA fitted on the training inputs (the same for every model)."""
    from sklearn.decomposition import PCA

    k = max(1, min(components, train_x.shape[0] - 1, train_x.shape[1]))
    return PCA(n_components=k, random_state=seed).fit(train_x)


def clustering_scores(train_latent: np.ndarray, test_latent: np.ndarray, test_fixed: np.ndarray,
                      test_mse: np.ndarray, clusters: int, seed: int) -> dict:
    """K-means fitted on the training latent, applied to test; silhouettes on test (latent, fixed space)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    k = max(2, min(clusters, len(train_latent) - 1))
    km = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(train_latent)
    labels = km.predict(test_latent)
    n_found = len(np.unique(labels))
    ok = 1 < n_found < len(labels)
    return {
        "clusters": int(k), "clusters_on_test": int(n_found),
        "silhouette_latent": float(silhouette_score(test_latent, labels)) if ok else float("nan"),
        "silhouette_fixed_pca": float(silhouette_score(test_fixed, labels)) if ok else float("nan"),
        "reconstruction_mse": float(np.mean(test_mse)),
        "cluster_sizes": np.bincount(labels, minlength=k).astype(int).tolist(),
    }
