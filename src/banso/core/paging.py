"""Paging large querysets by id first (a "deferred join").

`Paginator` slices a queryset with OFFSET, which makes the database walk and join every skipped row.
`IdFirstList` instead takes the page's ids from the narrowest index that serves the order, then
fetches just those rows with their joins. For a search, whose matching costs a scan each time, it
collects the matching ids once (up to `search_cap`) and serves both the count and the page from them.
"""

from collections.abc import Iterator
from typing import Any, Generic, TypeVar, overload

from django.db.models import Model, QuerySet

M = TypeVar("M", bound=Model)


class IdFirstList(Generic[M]):
    def __init__(self, queryset: QuerySet[M], *, search_cap: int | None = None) -> None:
        self.queryset = queryset
        self._ids: list[Any] | None = None
        self.capped = False
        if search_cap is not None:
            self._ids = list(queryset.values_list("pk", flat=True)[: search_cap + 1])
            self.capped = len(self._ids) > search_cap
            del self._ids[search_cap:]

    def count(self) -> int:
        return len(self._ids) if self._ids is not None else self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    @overload
    def __getitem__(self, window: int) -> M: ...

    @overload
    def __getitem__(self, window: slice) -> list[M]: ...

    def __getitem__(self, window: int | slice) -> M | list[M]:
        if isinstance(window, int):
            return self[window : window + 1 or None][0]
        ids = self._ids[window] if self._ids is not None else self._page_ids(window)
        rows = {row.pk: row for row in self.queryset.order_by().filter(pk__in=ids)}
        return [rows[pk] for pk in ids if pk in rows]

    def _page_ids(self, window: slice) -> list[Any]:
        return list(self.queryset.values_list("pk", flat=True)[window])

    def __iter__(self) -> Iterator[M]:
        return iter(self[:])
