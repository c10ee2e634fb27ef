"""Choice of torch device: CUDA when available, CPU otherwise."""

from __future__ import annotations

__all__ = ["resolve_device"]


def resolve_device(device=None):
    """Return a ``torch.device``; ``None`` means CUDA if available, else CPU."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device = 'cuda' is invalid: no CUDA device is available")
    return device
