"""
Digits: a softmax classifier and its confusion matrix
=====================================================

scikit-learn's bundled digits (1797 images of 8x8 pixels, 10 classes; no
download) classified by ``fastprop.sklearn.NetworkClassifier``, the drop-in
replacement for scikit-learn's ``MLPClassifier``: one hidden layer of 64 relu
units, a softmax output with cross-entropy on the integer labels, Adam, inside a
pipeline that standardizes the pixels. The confusion matrix counts, for every
true digit (row), the digits predicted for it (column); the diagonal is right.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastprop.sklearn import NetworkClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                    stratify=y)
model = make_pipeline(StandardScaler(),
                      NetworkClassifier(hidden_layer_sizes=(64,), max_iter=200, random_state=0))
model.fit(X_train, y_train)
classifier = model[-1]
print(f"trained a {classifier.network_.sizes} network for {classifier.n_iter_} epochs")
print(f"test accuracy {model.score(X_test, y_test):.3f} on {len(y_test)} images")

# %%
# The fitted ``fastprop.Network`` is ``network_``; its loss curve is scikit-learn's
# ``loss_curve_``. The confusion matrix of the held-out quarter:

fig, ax = plt.subplots(figsize=(6, 5.5))
ConfusionMatrixDisplay.from_estimator(model, X_test, y_test, ax=ax, colorbar=False,
                                      cmap="Blues")
ax.set_title("Digits, held-out quarter: true (rows) against predicted (columns)")
fig.tight_layout()
plt.show()
