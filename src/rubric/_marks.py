"""Where each node of a document stood in its file, in a few bytes per node.

A dict from every node's path to its line and column cost about 225 bytes per node (a path tuple,
a pair, two ints and the dict entry), so a 5 MB file of short items took over 500 MB. Here nodes
are numbered in file order and three flat arrays hold, per node, its packed line and column, the
packed place of its key (for mapping values), and how many nodes lie inside it. A path is found by
walking the data itself; the offsets of one container's children are worked out only when a
problem needs them (problems are few, documents can be large).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping
from typing import Any

Path = tuple[str | int, ...]
_SHIFT = 32
_LOW = (1 << _SHIFT) - 1


def pack(line: int, column: int) -> int:
    """One integer for a line and column (each below 2**32)."""
    return (line << _SHIFT) | column


class Tree:
    """Per-node arrays in file order; node 0 is the root."""

    __slots__ = ("_children", "keys", "marks", "root", "sizes")

    def __init__(self) -> None:
        self.root: Any = None
        self.marks = array("Q")  # packed line/column of each node
        self.keys = array("Q")  # packed line/column of the key of each mapping value (0: none)
        self.sizes = array("Q")  # nodes inside each node (0 for a scalar)
        self._children: dict[int, tuple[dict[Any, int] | None, list[int]]] = {}

    def add(self, mark: int, key: int) -> int:
        """Number a new node; returns its number."""
        self.marks.append(mark)
        self.keys.append(key)
        self.sizes.append(0)
        return len(self.marks) - 1

    def close(self, node: int) -> None:
        """A container ends: everything numbered since it lies inside it."""
        self.sizes[node] = len(self.marks) - node - 1

    def _child(self, node: int, container: Any, segment: str | int) -> int | None:
        cached = self._children.get(node)
        if cached is None:
            numbers, number = [], node + 1
            for _ in range(len(container)):
                numbers.append(number)
                number += 1 + self.sizes[number]
            where = {k: i for i, k in enumerate(container)} if isinstance(container, dict) else None
            cached = self._children[node] = (where, numbers)
        where, numbers = cached
        if where is not None:
            index = where.get(segment)
        elif isinstance(segment, int) and not isinstance(segment, bool) and 0 <= segment < len(numbers):
            index = segment
        else:
            index = None
        return None if index is None else numbers[index]

    def find(self, path: Path) -> int | None:
        """The number of the node at ``path``, or None."""
        if self.root is None and not self.marks:
            return None
        node, container = 0, self.root
        for segment in path:
            if not isinstance(container, (dict, list)) or not container:
                return None
            found = self._child(node, container, segment)
            if found is None:
                return None
            node = found
            container = container[segment]  # type: ignore[index]
        return node

    def paths(self) -> Iterator[Path]:
        """Every node's path, in file order."""
        todo: list[tuple[Path, Any]] = [((), self.root)]
        while todo:
            path, value = todo.pop()
            yield path
            if isinstance(value, dict):
                todo.extend(reversed([((*path, k), v) for k, v in value.items()]))
            elif isinstance(value, list):
                todo.extend(reversed([((*path, i), v) for i, v in enumerate(value)]))


class Marks(Mapping[Path, tuple[int, int]]):
    """Path → (line, column) of a node (``keys=True``: of the key it stands under)."""

    __slots__ = ("_keys", "_tree")

    def __init__(self, tree: Tree, *, keys: bool = False) -> None:
        self._tree = tree
        self._keys = keys

    def __getitem__(self, path: Path) -> tuple[int, int]:
        node = self._tree.find(path)
        if node is None:
            raise KeyError(path)
        packed = (self._tree.keys if self._keys else self._tree.marks)[node]
        if not packed:
            raise KeyError(path)
        return packed >> _SHIFT, packed & _LOW

    def __iter__(self) -> Iterator[Path]:
        return (p for p in self._tree.paths() if p in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)
