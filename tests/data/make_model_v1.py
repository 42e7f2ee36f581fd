"""Write tests/data/model_v1.npz: a model file of format version 1, written by the code
that defined version 1 (src/fastprop/persistence.py at commit 548c16f, the last before
version 2), so that tests can prove version-1 files still load.

Run from the repository root (needs git): python tests/data/make_model_v1.py
"""
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

VERSION_1_COMMIT = "548c16f"
HERE = Path(__file__).resolve().parent


def version_1_weights():
    """The network stored in the file: 3-4-1, relu hidden, sigmoid output, loss mse
    (tests/test_persistence.py draws the same arrays to compare)."""
    rng = np.random.default_rng(20261207)
    weights = [rng.normal(size=(4, 3)), rng.normal(size=(1, 4))]
    biases = [rng.normal(size=4), rng.normal(size=1)]
    return weights, biases


def main():
    source = subprocess.run(["git", "show", f"{VERSION_1_COMMIT}:src/fastprop/persistence.py"],
                            cwd=HERE, check=True, capture_output=True, text=True).stdout
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "persistence_v1.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("persistence_v1", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    assert module.FORMAT_VERSION == 1
    weights, biases = version_1_weights()
    module.write_model(HERE / "model_v1.npz", (3, 4, 1), np.float64, "mse", weights, biases,
                       input_names=["a", "b", "c"], output_names=["majority"],
                       activations=["relu"], output="sigmoid")
    print(f"wrote {HERE / 'model_v1.npz'}", file=sys.stderr)


if __name__ == "__main__":
    main()
