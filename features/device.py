"""The one device helper: which torch device and autocast settings a run uses."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch

DeviceSetting = Literal["auto", "cpu", "cuda"]


def resolve_device(setting: str = "auto") -> torch.device:
    """`auto`: the first CUDA device when present, else the CPU. `cuda` without a GPU is an error."""
    import torch  # here, not at the top: loading the graph must not import torch

    if setting == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if setting.startswith("cuda") and not torch.cuda.is_available():
        from warehouse.lake import ClinfuseError

        raise ClinfuseError(f"device {setting!r} requested but torch sees no CUDA device")
    return torch.device(setting)


def autocast(device: torch.device):
    """bf16 autocast on GPUs that support it (fp16 otherwise); a no-op context on the CPU."""
    if device.type != "cuda":
        return contextlib.nullcontext()
    import torch

    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast(device_type="cuda", dtype=dtype)
