"""The test suite: unit/ (the package alone), fixtures/ (against committed real-library records), live/ (the real
TensorFlow, Keras or TF.js at test time); support/ holds the helpers they share."""
