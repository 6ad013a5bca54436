"""Chest X-rays: pairing images to ICU stays, image tensors, DenseNet121 embeddings (SPEC §4 items 4 and 6).

    raw.cxr_metadata + cohorts.{ihm_48h,phenotyping} --pairing.build_pairs--> PARTIAL / PAIRED samples
    raw.cxr_images + raw.cxr_metadata --tensors.build_tensors--> features.cxr_tensors (+ failures)
    features.cxr_tensors --densenet.embed_images--> embeddings.cxr_densenet121_chex

Plain libraries (no Dagster): each function takes frames or a `Home` and returns Polars frames and counts;
writing and publishing the tables is the caller's job (`warehouse.lake`).
"""

from features.lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {
    "pairing": ("PAIR_COLUMNS", "TASKS", "build_pairs", "pair_cxr_to_stays", "partial_samples"),
    "tensors": (
        "CROP", "RESIZE", "CxrImageDataset", "build_tensors", "center_crop", "clahe", "decode_gray",
        "preprocess", "resize_short_side", "tensor_from_row", "tensors_to_array"),
})

__all__ = [
    "CROP", "PAIR_COLUMNS", "RESIZE", "TASKS", "CxrImageDataset", "build_pairs", "build_tensors", "center_crop",
    "clahe", "decode_gray", "pair_cxr_to_stays", "partial_samples", "preprocess", "resize_short_side",
    "tensor_from_row", "tensors_to_array",
]
