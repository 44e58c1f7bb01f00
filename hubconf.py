"""torch.hub entry point: `torch.hub.load(repo_dir, "cardiacclip", PACKAGE_FOLDER, source="local")`.

PACKAGE_FOLDER is a folder written by `cardiacclip export` (or a run folder, or a checkpoint file),
passed positionally or as `package=`; it cannot be called `model=`, which `torch.hub.load` takes for
the entry-point name. The result is a `cardiacclip.Predictor` (`.predict(path_or_array_or_tensor)`
-> `cardiacclip.Prediction`). Research software, not a medical device.
"""

dependencies = ["torch", "open_clip", "timm", "av", "pydicom", "safetensors"]


def cardiacclip(package: str, device: str = "auto", precision: str | None = None):
    """A trained CardiacCLIP ready to predict EF (percent) from echo videos; see `cardiacclip.load`."""
    import cardiacclip as cc

    return cc.load(package, device=device, precision=precision)
