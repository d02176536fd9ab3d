import numpy as np


def smooth_labels(targets, n_classes, eps):
    """Label-smoothed target distributions.   targets: (...,) int  ->  (..., n_classes) float64

    (1 - eps) on the true class plus eps / n_classes on every class, the true
    one included (as torch's label_smoothing): the true class gets
    1 - eps + eps / n_classes and each other class eps / n_classes.
    """
    one_hot = (np.asarray(targets)[..., None] == np.arange(n_classes)).astype(np.float64)
    return (1 - eps) * one_hot + eps / n_classes
