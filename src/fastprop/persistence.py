"""``Network.save`` / ``fastprop.load``: versioned ``.npz``, no pickle, atomic writes."""


class ModelFileError(ValueError):
    """A model file that cannot be read: its message names the file and the problem."""


def save_network(net, path):
    """Write ``net`` to ``path`` as a ``.npz`` file."""
    raise NotImplementedError("fastprop.persistence.save_network is being written")


def load(path):
    """Read a network written by ``Network.save``."""
    raise NotImplementedError("fastprop.load is being written")
