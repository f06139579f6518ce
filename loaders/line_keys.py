"""Lines of a file that its last load already took in, told apart by their bytes alone.

A change set alters a few rows of files that hold millions. Decoding, splitting and digesting every
row again, and asking the store for its record, only to learn that it is unchanged cost ≈ 0.1 ms a
row: nearly all of a change set's time. So a file's last complete load keeps an 8-byte key for
each line whose row it loaded (`LoadedFile.rowLines`), and the next load of the file hashes each
line's bytes and passes over one whose key it knows before decoding it.

Keys are salted with the file's header line, so a changed header (a column renamed, moved or
added) makes every line new. A row that spans lines (a quoted cell with a line break) is never
keyed: it is read in full every time. With 8 bytes a changed line passes for a loaded one with a
chance of about n / 2**64 (n the lines kept): below 10**-12 for a file of ten million rows.

All of a file's lines are keyed before its first row is read, so a load can ask where in the file
a line stands (`first_at`): whether a node's other row, passed over unread, stands after one being
written (its values must stand), before it, or not at all.
"""
from __future__ import annotations

import base64
import hashlib
import sys
from array import array
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

_NO_HEADER = b"\x00json-lines"


@dataclass
class LineKeys:
    """How one file's lines are keyed, and the keys its last complete load left (`known`)."""

    salt: bytes
    known: Collection[int] = frozenset()
    #: first row number of each line key read in this reading (those passed over: `_passed`): a
    #: repeat of a line is read in full, and told which row it repeats (the duplicate check needs it)
    first: dict[int, int] = field(default_factory=dict)

    @classmethod
    def for_header(cls, header: bytes | None, known: Collection[int] = frozenset()) -> LineKeys:
        """Keys salted with the header line (None: a format without one, JSON lines)."""
        line = header.rstrip(b"\r\n") if header is not None else _NO_HEADER
        return cls(hashlib.blake2b(line, digest_size=16).digest(), known)

    @classmethod
    def of_lines(cls, header: bytes | None, lines: Sequence[bytes], known: Collection[int] = frozenset()) -> LineKeys:
        """`for_header`, with every one of the file's `lines` keyed (by index) at once."""
        keys = cls.for_header(header, known)
        keys.keys = array("Q", map(keys.key, lines))
        return keys

    def __post_init__(self) -> None:
        # keyed once: a copy of it hashes a line in half the time a fresh keyed hash takes (the key is a block)
        self._keyed = hashlib.blake2b(digest_size=8, key=self.salt)
        #: the key of each line of the file, by index (`of_lines`)
        self.keys = array("Q")
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None
        self._first_line: np.ndarray | None = None
        #: the row number each line passed over was (0: not passed over), once one was
        self._passed: np.ndarray | None = None

    def key(self, line: bytes) -> int:
        hasher = self._keyed.copy()
        hasher.update(line.rstrip(b"\r\n"))
        return int.from_bytes(hasher.digest())

    def look(self, index: int, number: int) -> tuple[int, bool, int | None]:
        """The key of line `index` (row `number`), whether it may be passed over unread, and the
        row it repeats (a repeat is read in full)."""
        key = self.keys[index]
        if self._passed is not None:  # a copy of a line passed over repeats that line's row
            earlier = self._first_lines()[index]
            if earlier != index and (row := self._passed[earlier]):
                return key, False, int(row)
        first = self.first.setdefault(key, number)
        if first != number:
            return key, False, first
        return key, key in self.known, None

    def passed_as(self, index: int) -> int | None:
        """The row number line `index` was passed over unread as, if it was."""
        return int(self._passed[index]) or None if self._passed is not None else None

    def _by_key(self) -> tuple[np.ndarray, np.ndarray]:
        """The keys sorted, and the index of the line of each (the first of equal keys first)."""
        if self._sorted is None:
            keys = np.frombuffer(self.keys, dtype=np.uint64)
            order = np.argsort(keys, kind="stable")
            self._sorted = keys[order], order
        return self._sorted

    def _first_lines(self) -> np.ndarray:
        """For each line index, the index of the first line with its key (itself when none before)."""
        if self._first_line is None:
            keys, order = self._by_key()
            starts = _run_starts(keys)
            first = np.empty(len(keys), dtype=np.int64)
            first[order] = order[starts][np.cumsum(starts) - 1]  # a stable sort puts each key's first line first
            self._first_line = first
        return self._first_line

    def first_at(self, wanted: Iterable[int]) -> dict[int, int]:
        """The index of the first line with each of these keys that a line has. A later copy of a
        line is a duplicate row, so the first is where the row stands. Asked for many keys at once:
        each numpy call lets the writing thread take the interpreter, and getting it back costs."""
        asked = np.fromiter(set(wanted), dtype=np.uint64)
        if not len(asked) or not self.keys:
            return {}
        keys, order = self._by_key()
        at = np.minimum(np.searchsorted(keys, asked), len(keys) - 1)
        hit = keys[at] == asked
        return dict(zip(asked[hit].tolist(), order[at[hit]].tolist(), strict=True))

    def runs(self) -> dict[int, int]:
        """Each run of lines that may be passed over unread (`passable`), as its first line's index
        → the index after its last: worked out once, as a numpy call per run let the writing
        thread take the interpreter each time."""
        passable = self.passable()
        if not passable.any():
            return {}
        edges = np.diff(np.concatenate(([0], passable.astype(np.int8), [0])))
        return dict(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))

    def passable(self) -> np.ndarray:
        """For each line index, whether its line may be passed over unread: its key is known and no
        line before it has the key (a copy is read, to be told a duplicate). Worked out for all
        lines at once, so that a reader passes over runs of them without looking at each."""
        if not self.known or not self.keys:
            return np.zeros(len(self.keys), dtype=bool)
        first = self._first_lines() == np.arange(len(self.keys))
        known = getattr(self.known, "words", None)  # sorted as stored; else sorted here
        if known is None:
            known = np.sort(np.fromiter(self.known, dtype=np.uint64, count=len(self.known)))
        lines = np.frombuffer(self.keys, dtype=np.uint64)
        # the stored words are searched, not hashed into a set (0.04 instead of 0.77 s for 776,134 lines);
        # words out of order could only hide a known line, never pass a new one over
        return first & (known[np.minimum(np.searchsorted(known, lines), len(known) - 1)] == lines)

    def passed_over(self, start: int, end: int, number: int) -> array[int]:
        """The keys of lines start..end-1, passed over unread as rows number, number + 1, …: a later
        copy of one of them is told which row it repeats. Noted for the run at once, by line: a line
        passed over is always the first of its key (`passable`), so a later copy finds its row by its
        key's first line (a dict of every key passed over cost ≈ 0.3 µs a line: 1.9 CPU-s of a
        100,000-enterprise change set)."""
        if self._passed is None:
            self._passed = np.zeros(len(self.keys), dtype=np.int64)
        self._passed[start:end] = np.arange(number, number + end - start)
        return self.keys[start:end]


def _run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array starts (its first of each value)."""
    return np.concatenate(([True], ordered[1:] != ordered[:-1])) if len(ordered) else np.zeros(0, dtype=bool)


def pack(keys: Iterable[int] | np.ndarray) -> str:
    """Keys as stored on the file's ledger node: sorted distinct 64-bit words, little-endian (whichever
    machine wrote them), base64. Sorted by numpy: `sorted(set(…))` of a province's 6.8 M keys took
    ≈ 3.5 CPU-s of every change set, and so did `np.unique` here (numpy 2.5: 1.1 s for 1.5 M keys
    against 0.02 for a sort and a mask)."""
    words = np.sort(keys if isinstance(keys, np.ndarray) else np.fromiter(keys, dtype=np.uint64))
    words = words[_run_starts(words)]
    return base64.b64encode(words.astype("<u8", copy=False).tobytes()).decode("ascii")


class KeySet(frozenset[int]):
    """Line keys as a ledger keeps them: a set, and `words`, the same keys as the sorted 64-bit
    words they are stored as (a whole file's lines are looked up in them at once)."""

    words: np.ndarray


def without(keys: KeySet, drop: Collection[int]) -> KeySet:
    """`keys` less `drop`: lines a complete load took in that must be read again all the same."""
    if not drop:
        return keys
    out = KeySet(keys - set(drop))
    out.words = keys.words[~np.isin(keys.words, np.fromiter(drop, dtype=np.uint64, count=len(drop)))]
    return out


def unpack(text: str | None) -> KeySet:
    words = array("Q")
    words.frombytes(base64.b64decode(text or ""))
    if sys.byteorder == "big":
        words.byteswap()
    out = KeySet(words)
    out.words = np.frombuffer(words, dtype=np.uint64)
    return out
