"""Choice of torch device: CUDA when available, CPU otherwise."""

from __future__ import annotations

__all__ = ["resolve_device"]


def resolve_device(device=None):
    """Return a ``torch.device``; ``None`` means CUDA if available, else CPU."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device = {device!r} is invalid: expected 'cpu', 'cuda', "
                         "'cuda:0', ... or a torch.device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device = 'cuda' is invalid: no CUDA device is available")
    return device
