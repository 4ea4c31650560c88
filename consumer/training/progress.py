"""A rich progress bar over training batches, for the CLI (on stderr: stdout stays for JSON)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from consumer.training.train import ProgressFn


@contextmanager
def training_progress(epochs: int, enabled: bool = True) -> Iterator[ProgressFn | None]:
    """Yields a progress callback for ``train`` (None when disabled)."""
    if not enabled:
        yield None
        return
    columns = (
        TextColumn("[bold]training"), BarColumn(), TextColumn("{task.fields[status]}"),
        TimeElapsedColumn(), TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task("train", total=None, status="")

        def update(epoch: int, batch: int, steps: int, logs: dict[str, float]) -> None:
            status = f"epoch {epoch + 1}/{epochs}"
            if logs:
                status += " " + " ".join(f"{k}={v:.4g}" for k, v in logs.items())
                bar.console.log(status)
            bar.update(task, total=epochs * steps, completed=epoch * steps + batch, status=status)

        yield update
