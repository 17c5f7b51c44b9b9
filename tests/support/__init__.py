"""Helpers the tests share (tests import these, never each other):

- ``fixtures``: the committed fixture folders and checking a model against their records;
- ``requires``: optional libraries and Node: skip where missing, fail where the environment requires them;
- ``exclusions``: the one table of fixtures left out of a check, and why;
- ``modelfiles``: small TF.js model files written from Python dicts;
- ``layers``: building one runtime layer and comparing it with a float64 reference;
- ``http_site``: a local HTTP site of fixture folders, with routes that misbehave on purpose;
- ``serving``: the real ``tfjs-interop serve`` in a subprocess;
- ``concurrency``: work in many threads at once;
- ``hdf5_faults``: functions the HDF5 worker runs (imported by name);
- ``keras_live``: calling real Keras models (skips the importing test module without Keras);
- ``random_models``: random TF.js models made by the real TF.js (scripts/tfjs/random_models.js).
"""
