"""Read and check the next batches in a second process while this one writes.

About half of an import's time is Python checking cells (a name to its duplicate key, phones to
E.164, e-mails, amounts, choices) and the other half the database. A row's checks need nothing from
the database, so a forked child reads the file and runs the kind's ``prepare`` on each batch ahead
of the parent, which matches duplicates and writes: on two cores the halves overlap.

Forked rather than spawned: the child inherits Django, the open file and the kind as they are, with
no second start-up. It never touches the database connection it inherits (it leaves by
``os._exit``, as multiprocessing's forked children do, so nothing closes it either) and it stops by
itself when the parent goes away (``kill -9``), instead of waiting to send for ever.

Fork is used only where it is safe, in a process with one thread (the worker, the command line);
anywhere else (a threaded web server, a test runner with a helper thread) the same batches are
prepared in line, with the same results.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from typing import Any

from django.utils.translation import gettext_lazy as _

from bridgecrm.core.errors import ApplicationError


def may_fork() -> bool:
    return hasattr(os, "fork") and threading.active_count() == 1


def prepared[Batch](
    batches: Iterator[Batch],
    prepare: Callable[[Batch], Any],
    *,
    parallel: bool,
    beside: Callable[[], None] | None = None,
) -> Iterator[tuple[Batch, Any]]:
    """``(batch, prepare(batch))`` for each batch, in order; ``prepare`` runs in a forked child
    when ``parallel`` and the process may fork. ``beside`` is other work the child does after
    handing over each batch, while the parent writes it (never called when nothing forks)."""
    if not parallel:
        for batch in batches:
            yield batch, prepare(batch)
        return
    if not may_fork():
        for batch in batches:
            yield batch, prepare(batch)
        return
    yield from _forked(batches, prepare, beside)


def _forked[Batch](
    batches: Iterator[Batch], prepare: Callable[[Batch], Any], beside: Callable[[], None] | None
) -> Iterator[tuple[Batch, Any]]:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_produce, args=(batches, prepare, beside, receiver, sender), name="bridge-import-reader", daemon=True
    )
    child.start()
    sender.close()  # the child's end: when the child is gone, reading here ends instead of waiting
    try:
        while True:
            try:
                item = receiver.recv()
            except EOFError:
                raise ApplicationError(
                    "import_reader_lost",
                    _("The import stopped reading its file. Run it again: it resumes after the last whole batch."),
                ) from None
            if item[0] == "end":
                return
            if item[0] == "error":
                raise ApplicationError(item[1], item[2], details=item[3])
            if item[0] == "crash":
                raise RuntimeError(f"the import's reader failed:\n{item[1]}")
            yield item[1], item[2]
    finally:
        receiver.close()  # a child still sending gets a broken pipe and stops
        if child.is_alive():
            child.terminate()
        child.join(timeout=10)


def _produce(
    batches: Iterator[Any], prepare: Callable[[Any], Any], beside: Callable[[], None] | None, receiver: Any, sender: Any
) -> None:
    """The child: each batch with its prepared rows, then ``end``; a refused file as ``error``.

    Each send waits until the parent reads (a pipe, no queue thread), so the child works at most
    one batch ahead, and a parent that was killed shows as a broken pipe: the child stops."""
    receiver.close()
    # The worker's SIGTERM and SIGINT handlers came along with the fork: here they would only stop a
    # copy of its loop, so ``terminate()`` (the parent gave up on the import) ends the child instead.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        try:
            for batch in batches:
                sender.send(("batch", batch, prepare(batch)))
                if beside is not None:
                    beside()
            sender.send(("end",))
        except ApplicationError as exc:  # a bad or hostile file found while reading: the parent fails the job
            sender.send(("error", exc.code, str(exc.message), exc.details))
        except (BrokenPipeError, ConnectionResetError):
            raise
        except Exception:  # a bug: the parent raises it with this traceback
            sender.send(("crash", traceback.format_exc()))
    except (BrokenPipeError, ConnectionResetError):
        os._exit(1)  # the importer is gone or stopped reading
