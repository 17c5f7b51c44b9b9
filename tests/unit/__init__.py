"""The package alone: neither TensorFlow nor Node (hand-made models, references written from definitions)."""
