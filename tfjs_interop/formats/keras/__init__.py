"""Keras files: reading ``.h5`` / ``.keras`` (and weights files), and writing a model's parts as Keras 3 files."""
