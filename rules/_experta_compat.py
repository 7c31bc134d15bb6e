"""Import experta on Python >= 3.10 without letting it touch the caller's logging.

experta 1.9.4 (its last release) pins ``frozendict==1.2``, which subclasses
``collections.Mapping``; Python 3.10 removed that alias, so ``import experta``
fails there. The alias is restored (only when missing) before experta is first
imported. This is the route that works with every installer: pip cannot
resolve experta together with a newer frozendict.

experta's ``watchers`` module also calls ``logging.basicConfig()`` at import
time, which would configure the application's root logger; a placeholder
handler during the import makes that call a no-op.
"""

from __future__ import annotations

import collections
import collections.abc
import logging

for _name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable", "Hashable"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

_root = logging.getLogger()
_placeholder = logging.NullHandler()
_root.addHandler(_placeholder)
try:
    import experta  # noqa: E402,F401
finally:
    _root.removeHandler(_placeholder)

__all__ = ["experta"]
