"""Fill empty msgstr entries of a .po file from a {msgid: translation} JSON file (translators' helper).

Usage: python scripts/fill_po.py path/to/django.po translations.json
Keys are the msgid, or "context\\u0004msgid" for a pgettext entry (a plain msgid key is the fallback).
A plural entry takes the translation of its singular msgid (or of its plural) for msgstr[0]: Japanese has
one plural form. Prints the msgids still untranslated, so a catalogue can be checked for completeness.
"""

import json
import re
import sys

_ENTRY = re.compile(
    r'(?:^msgctxt (?P<ctx>(?:".*"\n?)+))?^msgid (?P<id>(?:".*"\n?)+)'
    r'(?:^msgid_plural (?P<plural>(?:".*"\n?)+))?^msgstr(?:\[0\])? (?P<str>(?:".*"\n?)+)',
    re.M,
)


def _unquote(lines: str | None) -> str:
    return "".join(json.loads(line) for line in re.findall(r'".*"', lines or ""))


def _lookup(translations: dict[str, str], ctx: str, msgid: str, plural: str) -> str | None:
    for key in (f"{ctx}\x04{msgid}" if ctx else None, f"{ctx}\x04{plural}" if ctx and plural else None, msgid, plural):
        if key and key in translations:
            return translations[key]
    return None


def fill(po_path: str, translations: dict[str, str]) -> list[str]:
    with open(po_path, encoding="utf-8") as f:
        text = f.read()
    blocks = text.split("\n\n")
    missing = []
    out = []
    for block in blocks:
        m = _ENTRY.search(block + "\n")
        if not m:
            out.append(block)
            continue
        ctx, msgid, plural = _unquote(m.group("ctx")), _unquote(m.group("id")), _unquote(m.group("plural"))
        msgstr = _unquote(m.group("str"))
        label = f"{ctx}\x04{msgid}" if ctx else msgid
        if msgid and "#, fuzzy" in block:
            missing.append(f"{label} (fuzzy: check the guess, then remove the flag)")
        elif msgid and not msgstr:
            found = _lookup(translations, ctx, msgid, plural)
            if found is not None:
                quoted = json.dumps(found, ensure_ascii=False)
                block = (block[: m.start("str")] + quoted + "\n" + block[m.end("str") :]).rstrip("\n")
            else:
                missing.append(label)
        out.append(block)
    with open(po_path, "w", encoding="utf-8") as f:
        f.write("\n\n".join(out))
    return missing


if __name__ == "__main__":
    with open(sys.argv[2], encoding="utf-8") as f:
        todo = fill(sys.argv[1], json.load(f))
    for msgid in todo:
        print(f"untranslated: {msgid}")
    sys.exit(1 if todo else 0)
