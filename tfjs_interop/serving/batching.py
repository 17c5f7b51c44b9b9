"""Dynamic batching: the requests waiting for one model are merged into one ``predict`` and the answer is split.

Each served model has one worker thread that runs its ``predict`` calls one at a time (so a model is never run by
two threads at once, whatever the runtime's thread safety). With batching on, the worker takes the oldest waiting
request and every later one with the same per-sample shapes, up to ``max_batch_size`` samples, waiting at most
``batch_timeout_micros`` after the oldest arrived for more to come (TF Serving's ``BatchingParameters``). A model is
merged only when that cannot change its answers: never a stateful model (its state runs from call to call), nor one
with a fixed batch size, nor one whose outputs for a probe batch, run at start-up, differ from those of its samples
run alone (a TF.js merged mask makes a sample's steps read other samples' rows: ``merged_mask_rnn``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, TfjsInteropError
from ..runtime.model import Model
from ..sample_inputs import sample_inputs
from ..topology import Topology
from .rest import RestError

log = logging.getLogger("tfjs_interop.serving")

PROBE_ATOL = 1e-5  # the fixtures' TF.js tolerance: BLAS sums a batch's rows in other orders (differences ~1e-7)
PROBE_BATCH = 3


@dataclass(frozen=True)
class BatchingOptions:
    """TF Serving's batching parameters (``--enable_batching`` and its ``batching_parameters_file``).

    Attributes:
        enabled: merge concurrent requests for one model into one ``predict``.
        max_batch_size: the most samples one merged ``predict`` takes (a request with more is refused, 400).
        batch_timeout_micros: how long the oldest request may wait for others to join its batch.
        max_enqueued_batches: the queue holds at most this many batches' worth of samples (requests, when not
            merging); beyond it requests are refused with 503.
    """

    enabled: bool = False
    max_batch_size: int = 32
    batch_timeout_micros: int = 1000
    max_enqueued_batches: int = 64

    def __post_init__(self) -> None:
        for name in ("max_batch_size", "max_enqueued_batches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InputError(f"batching option {name} must be a positive integer, got {value!r}")
        value = self.batch_timeout_micros
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise InputError(f"batching option batch_timeout_micros must be a non-negative integer, got {value!r}")


@dataclass(eq=False)  # compared by identity: the queue removes exactly this task
class Task:
    """One request's feeds, waiting for its outputs."""

    feeds: list[np.ndarray]
    future: Future = field(default_factory=Future)
    enqueued: float = field(default_factory=time.monotonic)
    batch_size: int = 0  # the samples of the predict that answered it (for the request log)

    @property
    def samples(self) -> int:
        return int(self.feeds[0].shape[0])

    @property
    def signature(self) -> tuple:
        return tuple((f.shape[1:], f.dtype.str) for f in self.feeds)


class ModelWorker:
    """The queue and the thread that run one model's predictions."""

    def __init__(self, model: Model, name: str, options: BatchingOptions):
        self.model, self.name, self.options = model, name, options
        self.merge, self.why_not_merged = merge_check(model) if options.enabled else (False, "batching is off")
        if options.enabled and not self.merge:
            log.warning("model %s: requests are not merged: %s", name, self.why_not_merged)
        self._capacity = options.max_enqueued_batches * (options.max_batch_size if self.merge else 1)
        self._queue: deque[Task] = deque()
        self._queued = 0  # samples (merging) or requests (not) in the queue
        self._cond = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._loop, name=f"tfjs-interop-serve-{name}", daemon=True)
        self._thread.start()

    def submit(self, feeds: list[np.ndarray]) -> Task:
        """Queue a request; its ``future`` receives the list of outputs.

        Raises:
            RestError: 400 for more samples than ``max_batch_size`` when merging; 503 when the queue is full or
                the server is stopping.
        """
        task = Task(feeds)
        if self.merge and task.samples > self.options.max_batch_size:
            raise RestError(400, f"Task size {task.samples} is larger than maximum input batch size "
                                 f"{self.options.max_batch_size}")
        cost = task.samples if self.merge else 1
        with self._cond:
            if self._closing:
                raise RestError(503, "the server is shutting down")
            if self._queued + cost > self._capacity:
                raise RestError(503, "The batch scheduling queue to which this task was submitted is full")
            self._queue.append(task)
            self._queued += cost
            self._cond.notify()
        return task

    def close(self, timeout: float | None = None) -> None:
        """Finish the queued work, then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            batch = [task for task in batch if task.future.set_running_or_notify_cancel()]  # the client left
            try:
                self._run(batch)
            except Exception as exc:  # noqa: BLE001 - the worker must live on; the requests get a 500
                log.exception("model %s: a batch failed", self.name)
                for task in batch:
                    if not task.future.done():
                        task.future.set_exception(exc)

    def _next_batch(self) -> list[Task] | None:
        """The tasks of the next predict, or None when closing with nothing left."""
        with self._cond:
            while not self._queue:
                if self._closing:
                    return None
                self._cond.wait()
            if not self.merge:
                self._queued -= 1
                return [self._queue.popleft()]
            first = self._queue[0]
            deadline = first.enqueued + self.options.batch_timeout_micros / 1e6
            while True:
                batch = self._compatible(first)
                full = sum(t.samples for t in batch) >= self.options.max_batch_size
                left = deadline - time.monotonic()
                if full or left <= 0 or self._closing:
                    break
                self._cond.wait(left)
            for task in batch:
                self._queue.remove(task)
                self._queued -= task.samples
            return batch

    def _compatible(self, first: Task) -> list[Task]:
        """``first`` and the later tasks of the same per-sample shapes that fit in one batch, in arrival order."""
        batch, size = [], 0
        for task in self._queue:
            if task.signature == first.signature and size + task.samples <= self.options.max_batch_size:
                batch.append(task)
                size += task.samples
        return batch

    def _run(self, batch: list[Task]) -> None:
        if not batch:
            return
        if len(batch) == 1:
            self._answer(batch[0])
            return
        feeds = [np.concatenate(parts, axis=0) for parts in zip(*(t.feeds for t in batch))]
        try:
            outputs = predict_list(self.model, feeds)
        except Exception:  # noqa: BLE001 - one bad request must not fail the others: answer each alone
            for task in batch:
                self._answer(task)
            return
        start = 0
        total = sum(t.samples for t in batch)
        for task in batch:
            task.batch_size = total
            task.future.set_result([o[start:start + task.samples] for o in outputs])
            start += task.samples

    def _answer(self, task: Task) -> None:
        task.batch_size = task.samples
        try:
            task.future.set_result(predict_list(self.model, task.feeds))
        except Exception as exc:  # noqa: BLE001 - handed to the request, which answers it (never a traceback)
            task.future.set_exception(exc)


def predict_list(model: Model, feeds: list[np.ndarray]) -> list[np.ndarray]:
    """``model.predict`` with its outputs always as a list."""
    outputs = model.predict(feeds)
    return outputs if isinstance(outputs, list) else [outputs]


def merge_check(model: Model) -> tuple[bool, str]:
    """Whether requests for ``model`` may be merged, and why not."""
    if is_stateful(model.topology):
        return False, "the model is stateful (its recurrent state carries from one predict to the next)"
    fixed = [spec.name for spec in model.inputs if spec.shape and spec.shape[0] is not None]
    if fixed:
        return False, f"input(s) {fixed} have a fixed batch size"
    try:
        probe = sample_inputs(model, seed=0, batch=PROBE_BATCH)
        together = predict_list(model, probe)
        alone = [predict_list(model, [x[i:i + 1] for x in probe]) for i in range(PROBE_BATCH)]
    except TfjsInteropError as exc:
        return False, f"a probe batch of {PROBE_BATCH} samples fails, alone or together: {exc}"
    for k, output in enumerate(together):
        parts = np.concatenate([a[k] for a in alone], axis=0)
        if parts.shape != output.shape or not np.allclose(parts, output, rtol=0, atol=PROBE_ATOL, equal_nan=True):
            return False, (f"output {k} of a probe batch differs from its samples run alone (the model mixes the "
                           "samples of a batch)")
    return True, ""


def is_stateful(topology: Topology) -> bool:
    """True when any layer, however nested, is configured ``stateful``."""
    return any(_config_stateful(spec.config) for spec in topology.layers)


def _config_stateful(value: Any) -> bool:
    if isinstance(value, dict):
        return value.get("stateful") is True or any(_config_stateful(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_config_stateful(v) for v in value)
    if isinstance(value, Topology):
        return is_stateful(value)
    return False
