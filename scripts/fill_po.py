"""Fill empty msgstr entries of a .po file from a {msgid: translation} JSON file (translators' helper).

Usage: python scripts/fill_po.py path/to/django.po translations.json
Prints the msgids still untranslated, so a catalogue can be checked for completeness.
"""

import json
import re
import sys


def _unquote(lines: list[str]) -> str:
    return "".join(json.loads(line) for line in lines)


def fill(po_path: str, translations: dict[str, str]) -> list[str]:
    with open(po_path, encoding="utf-8") as f:
        text = f.read()
    blocks = text.split("\n\n")
    missing = []
    out = []
    for block in blocks:
        m = re.search(r'^msgid ((?:".*"\n?)+)^msgstr ((?:".*"\n?)+)', block + "\n", re.M)
        if not m or "msgid_plural" in block:
            out.append(block)
            continue
        msgid = _unquote(re.findall(r'".*"', m.group(1)))
        msgstr = _unquote(re.findall(r'".*"', m.group(2)))
        if msgid and "#, fuzzy" in block:
            missing.append(f"{msgid} (fuzzy: check the guess, then remove the flag)")
        elif msgid and not msgstr:
            if msgid in translations:
                quoted = json.dumps(translations[msgid], ensure_ascii=False)
                block = block[: m.start(2)] + quoted + "\n" + block[m.end(2) :]
                block = block.rstrip("\n")
            else:
                missing.append(msgid)
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
