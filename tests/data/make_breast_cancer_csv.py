"""Write scikit-learn's breast-cancer data (Wisconsin diagnostic, 569 rows, bundled with
scikit-learn: no download) as two CSV files, a training and a held-out test set, in the
form a user brings: an ``id`` column first, the 30 measurements under their names, and
the label as a string, ``diagnosis`` = ``malignant`` or ``benign``.

    python tests/data/make_breast_cancer_csv.py [DIRECTORY]

writes DIRECTORY/breast_cancer_train.csv (455 rows) and breast_cancer_test.csv (114 rows),
split by scikit-learn's train_test_split (stratified, random_state 0). tests/test_cli_real_data.py
uses the same function.
"""
import csv
import sys
from pathlib import Path


def write_breast_cancer_csvs(directory, test_size=0.2, random_state=0):
    """Write the two files into directory; returns their paths (train, test)."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    ids = [842000 + 17 * row for row in range(len(data.target))]  # an identifier, not a feature
    rows = [[str(identifier)] + [repr(float(value)) for value in features]
            + [str(data.target_names[label])]
            for identifier, features, label in zip(ids, data.data, data.target)]
    train, test = train_test_split(rows, test_size=test_size, random_state=random_state,
                                   stratify=data.target)
    header = ["id"] + list(data.feature_names) + ["diagnosis"]
    paths = []
    for name, part in (("breast_cancer_train.csv", train), ("breast_cancer_test.csv", test)):
        path = Path(directory) / name
        with open(path, "w", newline="", encoding="utf-8") as stream:
            csv.writer(stream, lineterminator="\n").writerows([header] + part)
        paths.append(path)
    return tuple(paths)


if __name__ == "__main__":
    for path in write_breast_cancer_csvs(sys.argv[1] if len(sys.argv) > 1 else "."):
        print(f"wrote {path}")
