"""``explain(net, x, y, lr)``: the seeds' step-by-step tables for one sample."""


def explain(net, x, y, lr):
    """Trace one forward pass, backward pass and update of ``net`` on one sample."""
    raise NotImplementedError("fastprop.explain is being written")
