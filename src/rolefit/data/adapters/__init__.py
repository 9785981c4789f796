"""One adapter per survey: each maps only what that survey really asked onto instrument items."""

from __future__ import annotations

from collections.abc import Callable

from rolefit.data.adapters.instrument import read_instrument_export
from rolefit.data.adapters.kaggle2021 import read_kaggle_2021
from rolefit.data.adapters.stackoverflow2017 import read_stackoverflow_2017
from rolefit.data.io import AdapterOutput

#: Each is called as ``adapter(path, member=None)``; ``member`` picks a CSV file inside a zip.
ADAPTERS: dict[str, Callable[..., AdapterOutput]] = {
    "instrument": read_instrument_export,
    "kaggle2021": read_kaggle_2021,
    "stackoverflow2017": read_stackoverflow_2017,
}
