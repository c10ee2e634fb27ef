"""Choice of torch device: CUDA when available, CPU otherwise."""

from __future__ import annotations

__all__ = ["resolve_device"]


def resolve_device(device=None):
    """Return a ``torch.device``; ``None`` means CUDA if available, else CPU.

    Parameters
    ----------
    device : str, torch.device or None, optional
        ``"cpu"``, ``"cuda"``, ``"cuda:0"``, ... or a ``torch.device``; None picks CUDA
        when a device is available, the CPU otherwise.

    Returns
    -------
    torch.device
        The device to run on.

    Raises
    ------
    ValueError
        If the name is not a device, or CUDA is asked for and not available.
    """
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
