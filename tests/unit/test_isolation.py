"""HDF5 isolation without fork(): a warm worker process started by fork-and-exec, safe in a threaded process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.concurrency import in_threads
from tests.support.fixtures import ROOT
from tests.support.hdf5_faults import crash, echo, hang
from tfjs_interop.errors import ModelFormatError
from tfjs_interop.formats import isolation
from tfjs_interop.formats.isolation import isolated

H5 = ROOT / "fixtures" / "keras" / "k2_lstm_seq_dense" / "model.h5"
KERAS = ROOT / "fixtures" / "keras" / "k3_lstm_seq_dense" / "model.keras"


def test_loading_never_forks_this_process(monkeypatch):
    def no_fork():
        raise AssertionError("os.fork() called in a process that may have threads")

    monkeypatch.setattr(os, "fork", no_fork)
    monkeypatch.setattr(os, "forkpty", no_fork, raising=False)
    assert tfjs_interop.load(H5).count_params() > 0
    assert tfjs_interop.load(KERAS).count_params() > 0


def test_the_worker_is_kept_warm_and_replaced_after_a_crash():
    first = isolated(echo, b"abc", "one", source="x.h5")
    second = isolated(echo, b"de", "two", source="x.h5")
    assert first[0]["name"] == "one" and bytes(first[1]["data"]) == b"abc"
    assert first[0]["pid"] == second[0]["pid"] != os.getpid()  # the same warm worker
    with pytest.raises(ModelFormatError, match="crashed"):
        isolated(crash, b"", source="x.h5")
    third = isolated(echo, b"", "three", source="x.h5")
    assert third[0]["pid"] != first[0]["pid"]


def test_a_hang_names_the_timeout_variable_and_the_next_load_works(monkeypatch):
    monkeypatch.setenv(isolation.ENV_TIMEOUT, "1")
    with pytest.raises(ModelFormatError, match=f"took over 1 s.*set {isolation.ENV_TIMEOUT}"):
        isolated(hang, b"", source="x.h5")
    assert isolated(echo, b"z", "after", source="x.h5")[0]["name"] == "after"


def test_the_timeout_variable_is_in_the_help(capsys):
    from tfjs_interop.cli import main

    with pytest.raises(SystemExit):
        main(["--help"])
    assert isolation.ENV_TIMEOUT in capsys.readouterr().out


def test_threads_loading_keras_files_at_once_get_the_same_model():
    want = tfjs_interop.load(H5).get_weights()
    for weights in in_threads(lambda i: tfjs_interop.load(H5).get_weights(), 6):
        assert all(np.array_equal(a, b) for a, b in zip(weights, want))


RACE = r"""
import sys, threading
import tfjs_interop
t = threading.Thread(target=lambda: __import__("h5py"))
t.start()
model = tfjs_interop.load(sys.argv[1])
t.join()
print(model.count_params())
"""


def test_loading_while_another_thread_first_imports_h5py_does_not_deadlock():
    """The case that deadlocked a forked child in ~80 % of fresh processes: each must finish, well in time."""
    for _ in range(4):
        done = subprocess.run([sys.executable, "-c", RACE, str(H5)], capture_output=True, timeout=60, cwd=ROOT)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert int(done.stdout) > 0


EXIT = r"""
import sys
sys.path.insert(0, sys.argv[2])
import tfjs_interop
from tests.support.hdf5_faults import crash
from tfjs_interop.errors import ModelFormatError
from tfjs_interop.formats import isolation
tfjs_interop.load(sys.argv[1])  # a worker kept warm
try:
    isolation.isolated(crash, b"", source="x.h5")  # one killed and replaced
except ModelFormatError:
    pass
tfjs_interop.load(sys.argv[1])
print(" ".join(str(w.process.pid) for w in isolation._POOL.idle))
"""


def test_the_interpreter_exits_cleanly_with_warm_workers():
    """At exit the idle workers are stopped and reaped and their pipes closed: no ResourceWarning (a subprocess
    still running, an unclosed pipe) even with warnings as errors, and no worker outlives its process."""
    done = subprocess.run([sys.executable, "-X", "dev", "-W", "error::ResourceWarning", "-c", EXIT, str(H5),
                           str(ROOT)], capture_output=True, timeout=120, cwd=ROOT)
    stderr = done.stderr.decode()
    assert done.returncode == 0 and "ResourceWarning" not in stderr and "Exception ignored" not in stderr, stderr
    pids = [int(p) for p in done.stdout.split()]
    assert pids, "no worker was kept warm"
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(), pid
