"""Progress reporting for experiments: an iterable wrapper, like `tqdm` itself.

An experiment's `run(cfg, *, progress=no_progress)` wraps its long loops as
`for item in progress(items, desc="timing"): ...`. The CLI passes `tqdm_progress`, which
draws a bar on stderr; tests and notebooks call `run(cfg)` and get no output.
"""

import sys
from collections.abc import Iterable
from typing import Protocol, TypeVar

from tqdm import tqdm

_T = TypeVar("_T")


class Progress(Protocol):
    """Signature of a progress wrapper: `progress(iterable, desc=..., total=None)`."""

    def __call__(
        self, iterable: Iterable[_T], /, *, desc: str, total: int | None = None
    ) -> Iterable[_T]:
        """Yield the items of `iterable`, reporting progress as they are consumed.

        Parameters
        ----------
        iterable : Iterable
            The work items.
        desc : str
            A short label for the bar.
        total : int or None
            The number of items, where `len(iterable)` does not give it.

        Returns
        -------
        Iterable
            The same items, in order.
        """
        ...


def no_progress(iterable: Iterable[_T], /, *, desc: str, total: int | None = None) -> Iterable[_T]:
    """Report nothing: return `iterable` unchanged (the default for `run(cfg)`).

    Parameters
    ----------
    iterable : Iterable
        The work items.
    desc : str
        Ignored.
    total : int or None
        Ignored.

    Returns
    -------
    Iterable
        `iterable`.
    """
    return iterable


def tqdm_progress(
    iterable: Iterable[_T], /, *, desc: str, total: int | None = None
) -> Iterable[_T]:
    """Draw a `tqdm` progress bar on stderr while `iterable` is consumed.

    Parameters
    ----------
    iterable : Iterable
        The work items.
    desc : str
        The bar's label.
    total : int or None
        The number of items, where `len(iterable)` does not give it.

    Returns
    -------
    Iterable
        The same items, in order.
    """
    return tqdm(iterable, desc=desc, total=total, file=sys.stderr, leave=False, dynamic_ncols=True)
