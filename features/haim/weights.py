"""Old name of `features.haim.time_weights` (HAIM's time weights of earlier images and notes), not to be
confused with `features/weights.py` (pretrained model weights). Re-exported so code written against the old
name keeps importing; new code imports `features.haim.time_weights`."""

from features.haim.time_weights import fixed_time_weights, haim_time_weights, weighted_average  # noqa: F401
