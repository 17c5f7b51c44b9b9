"""The one atomic writer (formats/atomic.py): exclusive unpredictable temporaries, fsync, race-free
``overwrite=False``, an overwrite that never leaves the target missing, dead writers' temporaries cleaned, and a
real writer process SIGKILLed at many points."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import tfjs_interop
from tests.support.concurrency import killed_midway
from tests.support.fixtures import ROOT
from tfjs_interop.errors import InputError
from tfjs_interop.formats import atomic


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tfjs-interop-" in p.name)


def test_files_and_folders_get_the_modes_the_umask_allows(tmp_path):
    old = os.umask(0o022)
    try:
        atomic.write_file(tmp_path / "a.bin", b"x")
        atomic.write_folder(tmp_path / "f", {"m.json": b"{}"})
    finally:
        os.umask(old)
    assert (tmp_path / "a.bin").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "f" / "m.json").stat().st_mode & 0o777 == 0o644


def test_a_symlink_planted_at_the_temporary_name_is_never_written_through(tmp_path, monkeypatch):
    outside = tmp_path / "outside.txt"
    outside.write_text("precious")
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: "0" * 16)  # make the name predictable to plant
    (tmp_path / "cache").mkdir()
    planted = tmp_path / "cache" / f".entry.bin{atomic.TEMP_MARK}{os.getpid()}-{'0' * 16}"
    planted.symlink_to(outside)
    with pytest.raises(FileExistsError):
        atomic.write_file(tmp_path / "cache" / "entry.bin", b"attacker-chosen")
    assert outside.read_text() == "precious"


def test_files_and_folders_are_fsynced(tmp_path, monkeypatch):
    synced = []
    real = os.fsync
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (synced.append(os.readlink(f"/proc/self/fd/{fd}")),
                                                        real(fd)))
    atomic.write_folder(tmp_path / "f", {"a": b"1", "b": b"2"})
    names = [Path(p).name for p in synced]
    assert "a" in names and "b" in names  # each file
    assert any(atomic.TEMP_MARK in n for n in names)  # the folder before the switch
    assert str(tmp_path) in synced  # the parent after it


def _race_to_create(target: Path, kind: str, writers: int = 6) -> list[int | None]:
    """Start ``writers`` threads together, each creating ``target`` without overwrite; who succeeded (None: refused)."""
    barrier, outcomes = threading.Barrier(writers), []

    def write(i: int) -> None:
        barrier.wait()
        try:
            if kind == "file":
                atomic.write_file(target, f"writer {i}".encode(), overwrite=False)
            else:
                atomic.write_folder(target, {"who": f"writer {i}".encode()}, overwrite=False)
            outcomes.append(i)
        except InputError:
            outcomes.append(None)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    [t.start() for t in threads]
    [t.join(30) for t in threads]
    return outcomes


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_overwrite_false_cannot_be_raced(tmp_path, kind):
    """Of many writers racing to create one new target without overwrite, exactly one succeeds."""
    for round_ in range(10):
        target = tmp_path / f"t{round_}"
        outcomes = _race_to_create(target, kind)
        winners = [o for o in outcomes if o is not None]
        assert len(outcomes) == 6 and len(winners) == 1, outcomes
        content = target.read_bytes() if kind == "file" else (target / "who").read_bytes()
        assert content == f"writer {winners[0]}".encode()
        assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "two-renames"])
def test_an_overwrite_never_leaves_the_target_missing(tmp_path, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(atomic, "_renameat2", lambda *args: False)
    target = tmp_path / "model"
    atomic.write_folder(target, {"v": b"0"})
    stop, missing = threading.Event(), []

    def watch() -> None:
        while not stop.is_set():
            if not (target / "v").exists():
                missing.append(time.monotonic())

    watcher = threading.Thread(target=watch)
    watcher.start()
    for i in range(200):
        atomic.write_folder(target, {"v": str(i).encode()}, overwrite=True)
    stop.set()
    watcher.join()
    assert (target / "v").read_bytes() == b"199"
    if exchange:
        assert not missing, f"the target was missing {len(missing)} times during overwrites"
    assert _leftovers(tmp_path) == []


def test_a_folder_moved_aside_by_a_dead_writer_is_put_back(tmp_path):
    """Without renameat2 an overwrite renames twice; a crash between them is mended by the next writer."""
    aside = tmp_path / f".model{atomic.OLD_MARK}{_dead_pid()}-{'a' * 16}"
    aside.mkdir()
    (aside / "v").write_bytes(b"old")
    assert atomic.clean_stale(tmp_path) == [aside]
    assert (tmp_path / "model" / "v").read_bytes() == b"old"


def test_a_live_writers_temporary_is_left_alone(tmp_path):
    mine = tmp_path / f".x{atomic.TEMP_MARK}{os.getpid()}-{'b' * 16}"
    mine.write_bytes(b"in progress")
    locked = tmp_path / f".y{atomic.TEMP_MARK}{_dead_pid()}-{'c' * 16}"  # dead pid, but its lock is held
    locked.write_bytes(b"")
    import fcntl

    fd = os.open(locked, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        assert atomic.clean_stale(tmp_path) == []
    finally:
        os.close(fd)
    assert mine.exists() and locked.exists()
    assert atomic.clean_stale(tmp_path) == [locked]


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_targets_of_the_wrong_kind_get_our_error(tmp_path, kind):
    (tmp_path / "dir").mkdir()
    (tmp_path / "file").write_text("x")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    with pytest.raises(InputError, match="does not exist"):
        (atomic.write_file if kind == "file" else atomic.write_folder)(tmp_path / "dangling", {"a": b""}
                                                                       if kind == "folder" else b"")
    with pytest.raises(InputError, match="is a folder" if kind == "file" else "is not a folder"):
        if kind == "file":
            atomic.write_file(tmp_path / "dir", b"")
        else:
            atomic.write_folder(tmp_path / "file", {"a": b""})


WRITER = r"""
import sys
from pathlib import Path
from tfjs_interop.formats import atomic
target, kind = Path(sys.argv[1]), sys.argv[2]
print("ready", flush=True)
i = 0
while True:
    i += 1
    tag = str(i).encode() * 20000  # ~100 KB a file: writes take long enough to be killed midway
    if kind == "file":
        atomic.write_file(target, tag)
    else:
        atomic.write_folder(target, {f"part{k}": tag for k in range(4)}, overwrite=True)
"""


@pytest.mark.parametrize("kind", ["file", "folder"])
def test_a_writer_killed_at_any_point_leaves_the_old_or_the_new_and_its_litter_is_cleaned(tmp_path, kind):
    target = tmp_path / "model"
    rng = np.random.default_rng(12)
    started, littered = time.monotonic(), 0
    for kill in range(15):
        killed_midway(WRITER, [str(target), kind], float(rng.uniform(0.0, 0.15)), ROOT)
        littered += bool(_leftovers(tmp_path))
        if not os.path.lexists(target):
            assert kill == 0, "a killed overwrite left the target missing"
            continue
        parts = [target.read_bytes()] if kind == "file" else [p.read_bytes() for p in sorted(target.iterdir())]
        assert len(parts) in (1, 4) and len(set(parts)) == 1, "the target mixes two writes"
        tag = parts[0][:len(parts[0]) // 20000]
        assert parts[0] == tag * 20000, "the target holds a partly written file"
    assert time.monotonic() - started < 60
    assert littered, "no kill landed in the middle of a write"
    atomic.write_file(tmp_path / "other", b"x")  # any write in the folder cleans dead writers' temporaries
    assert _leftovers(tmp_path) == []


def test_save_tfjs_overwrite_false_is_exclusive_between_processes(tmp_path):
    """Two processes saving one new target without overwrite: one succeeds, one gets InputError."""
    script = ("import sys, tfjs_interop\n"
              "m = tfjs_interop.load(sys.argv[1])\n"
              "try:\n    tfjs_interop.save_tfjs(m, sys.argv[2])\n    print('ok')\n"
              "except tfjs_interop.InputError:\n    print('refused')\n")
    source = ROOT / "fixtures" / "tfjs" / "lstm_last_output" / "model.json"
    runs = [subprocess.Popen([sys.executable, "-c", script, str(source), str(tmp_path / "out")],
                             stdout=subprocess.PIPE, cwd=ROOT) for _ in range(2)]
    answers = sorted(r.communicate(timeout=120)[0].decode().strip() for r in runs)
    assert answers in (["ok", "refused"],), answers
    tfjs_interop.load(tmp_path / "out")



SAVER = r"""
import sys
import numpy as np
import tfjs_interop
model = tfjs_interop.load(sys.argv[1])
versions = [[w + np.float32(k / 4) for w in model.get_weights()] for k in range(2)]
i = int(sys.argv[3])
model.set_weights(versions[i % 2])
tfjs_interop.save_keras(model, sys.argv[2])  # a whole target before the kill can land
print("ready", flush=True)
while True:
    i += 1
    model.set_weights(versions[i % 2])
    tfjs_interop.save_keras(model, sys.argv[2])
"""


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_save_keras_killed_at_any_point_leaves_a_whole_model(tmp_path, suffix):
    """The public writer end to end: save_keras SIGKILLed at random points, alternating two versions of a model;
    the target is always one whole version, which loads and predicts as that version (the file's bytes are built
    in memory, then written by the atomic writer)."""
    case = ROOT / "fixtures" / "tfjs" / "lstm_last_output"
    model, x = tfjs_interop.load(case / "model.json"), np.load(case / "call0_input0.npy")
    base, want = model.get_weights(), []
    for k in range(2):
        model.set_weights([w + np.float32(k / 4) for w in base])
        want.append(model.predict(x))
    assert not np.allclose(want[0], want[1], atol=1e-3)
    target = tmp_path / f"model{suffix}"
    rng = np.random.default_rng(3)
    seen = set()
    for kill in range(8):
        killed_midway(SAVER, [str(case / "model.json"), str(target), str(kill)], float(rng.uniform(0.0, 0.4)), ROOT)
        got = tfjs_interop.load(target).predict(x)  # Keras's weights differ (hard_sigmoid form), not its numbers
        version = [k for k in range(2) if np.allclose(got, want[k], rtol=0, atol=1e-6)]
        assert len(version) == 1, "the saved model is neither version whole"
        seen.add(version[0])
    assert seen == {0, 1}, "the kills found one version only"
    atomic.write_file(tmp_path / "other", b"x")
    assert _leftovers(tmp_path) == []
