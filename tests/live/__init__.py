"""Against real TensorFlow / Keras 3 / tf_keras or TF.js in Node, run at test time (skipped without them, except
where TFJS_INTEROP_REQUIRE_TF / TFJS_INTEROP_REQUIRE_NODE is 1: see tests/support/requires.py)."""
