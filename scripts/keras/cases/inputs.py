"""The seeded inputs Keras cases are fed: floats, token ids with padding, float sequences padded with zero steps."""

from __future__ import annotations

import numpy as np


def floats(rng, *shape, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def tokens(rng, batch, steps, vocab):
    """Token ids with padding: pre-padded, post-padded, full and empty rows."""
    x = rng.integers(1, vocab, size=(batch, steps)).astype(np.int32)
    for row in range(batch):
        pad = rng.integers(1, steps)
        if row % 4 == 0:
            x[row, :pad] = 0
        elif row % 4 == 1:
            x[row, steps - pad:] = 0
        elif row % 4 == 3:
            x[row, 1::3] = 0
    x[-1] = 0 if batch > 4 else x[-1]
    return x


def padded(rng, batch, steps, features, scale=1.0):
    """Float sequences whose padded steps are all-zero vectors (for Masking): pre, post and inner padding."""
    x = floats(rng, batch, steps, features, scale=scale)
    for row in range(batch):
        pad = rng.integers(1, steps)
        if row % 3 == 0:
            x[row, :pad] = 0
        elif row % 3 == 1:
            x[row, steps - pad:] = 0
        else:
            x[row, 2::4] = 0
    return x

