"""Japanese text normalisation for matching: NFKC (full/half width), case, and hiragana/katakana."""

import unicodedata

import jaconv


def search_key(*parts: str | None) -> str:
    """One string to match queries against: `株式会社ｱｲｳ` and `アイウ` and `あいう` meet here."""
    joined = " ".join(p for p in parts if p)
    return normalise(joined)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return jaconv.kata2hira(text).replace(" ", "").replace("\u3000", "")
