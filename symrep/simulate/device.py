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
    if isinstance(device, str) and device.strip().lower().startswith("cpu:") and \
            device.strip()[4:] not in ("0",):  # refused without importing torch
        raise ValueError(f"device = {device!r} is invalid: the CPU is 'cpu' (or 'cpu:0')")
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
    if device.type == "cuda" and device.index is not None and \
            device.index >= torch.cuda.device_count():
        raise ValueError(f"device = {str(device)!r} is invalid: there are "
                         f"{torch.cuda.device_count()} CUDA device(s), cuda:0 to "
                         f"cuda:{torch.cuda.device_count() - 1}")
    if device.type == "cpu" and device.index not in (None, 0):
        raise ValueError(f"device = {str(device)!r} is invalid: the CPU is 'cpu' (or "
                         "'cpu:0')")
    mps = getattr(torch.backends, "mps", None)
    if device.type not in ("cpu", "cuda") and not (
            device.type == "mps" and mps is not None and mps.is_available()):
        raise ValueError(f"device = {str(device)!r} is invalid: expected 'cpu', 'cuda', "
                         "'cuda:0', ...")
    return device
