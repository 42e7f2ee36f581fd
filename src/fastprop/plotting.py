"""``plot_loss``: the loss curve of a fit, drawn with matplotlib."""


def plot_loss(history, path=None):
    """Draw the per-epoch losses in ``history``; save to ``path`` when given."""
    raise NotImplementedError("fastprop.plot_loss is being written")
