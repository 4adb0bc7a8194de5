"""Keep the catalogues: `python -m loyalty.i18n.tool update | compile | check` (`scripts/i18n`).

update   extract every marked word (Python: `_`, `_n`, `_p`; the pages' JavaScript and HTML
         `data-t`) into `locales/<domain>.pot`, merge it into each locale's `.po`, fill the
         English catalogue's new entries from their msgids (English is the source language),
         and compile.
compile  `.po` → `.mo` (also done when the package is installed, by setup.py).
check    exit 1 when the `.pot` is stale, or an entry is untranslated or fuzzy.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
LOCALES_DIR = HERE / "locales"
LOCALES = ("zh_CN", "en")
KEYWORDS = {"_": None, "_n": (1, 2), "_p": ((1, "c"), 2)}
# The pages' extractors: calls in the JavaScript, data-t attributes in the HTML.
JS, HTML = "loyalty.i18n.js_extract:extract_calls", "loyalty.i18n.html_extract:extract_data_t"
# Which files each domain's words come from (relative to the repository root).
DOMAINS: dict[str, dict[str, list[tuple[str, str]]]] = {
    "messages": {
        "loyalty": [("**/tests/**", "ignore"), ("i18n/tool.py", "ignore"), ("**.py", "python")],
        "partner_api": [("**.py", "python")],
        "admin_ui": [("**.py", "python")],
    },
    "pages": {
        "loyalty/web/static": [("**.js", JS), ("**.html", HTML)],
        "admin_ui/static": [("**.js", JS), ("**.html", HTML)],
    },
}
HEADER = "Owner Club 业主俱乐部"


def _template(domain: str) -> Catalog:
    catalog = Catalog(project=HEADER, version="1", charset="utf-8", fuzzy=False)
    for folder, mapping in DOMAINS[domain].items():
        base = ROOT / folder
        for filename, lineno, message, comments, context in extract_from_dir(
            base, method_map=mapping, keywords=KEYWORDS, comment_tags=("i18n:",), strip_comment_tags=True,
        ):
            catalog.add(message, None, [(f"{folder}/{filename}", 0)], auto_comments=comments, context=context)
    return catalog


def _pot_path(domain: str) -> Path:
    return LOCALES_DIR / f"{domain}.pot"


def _po_path(locale: str, domain: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{domain}.po"


def _write(path: Path, catalog: Catalog) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        # Locations name files, not lines: a moved line must not rewrite the catalogue.
        write_po(file, catalog, width=100, sort_output=True, include_lineno=False, ignore_obsolete=True)


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as file:
        return read_po(file, locale=locale)


def update() -> None:
    for domain in DOMAINS:
        template = _template(domain)
        _write(_pot_path(domain), template)
        for locale in LOCALES:
            path = _po_path(locale, domain)
            catalog = _read(path, locale) if path.exists() else Catalog(locale=locale, project=HEADER, fuzzy=False)
            catalog.update(template, no_fuzzy_matching=True)
            if locale == "en":
                for message in catalog:
                    if message.id and not message.string or (isinstance(message.string, tuple) and not all(message.string)):
                        message.string = message.id
            _write(path, catalog)
    compile_all()


def compile_all(target: Path | None = None) -> None:
    """`.po` → `.mo` beside it (or under `target`, the build folder setup.py gives)."""
    for domain in DOMAINS:
        for locale in LOCALES:
            catalog = _read(_po_path(locale, domain), locale)
            out = (target or LOCALES_DIR) / locale / "LC_MESSAGES" / f"{domain}.mo"
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("wb") as file:
                write_mo(file, catalog, use_fuzzy=False)


def problems() -> list[str]:
    """Why the catalogues are not ready to ship: a stale template, untranslated or fuzzy entries."""
    found: list[str] = []
    for domain in DOMAINS:
        fresh = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in _template(domain) if m.id}
        kept = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in _read(_pot_path(domain)) if m.id}
        for context, msgid in sorted(fresh - kept, key=str):
            found.append(f"{domain}.pot lacks {msgid!r} (context {context}): run scripts/i18n update")
        for context, msgid in sorted(kept - fresh, key=str):
            found.append(f"{domain}.pot still has {msgid!r}, no longer in the code: run scripts/i18n update")
        for locale in LOCALES:
            for message in _read(_po_path(locale, domain), locale):
                if not message.id:
                    continue
                strings = message.string if isinstance(message.string, tuple) else (message.string,)
                name = message.id if isinstance(message.id, str) else message.id[0]
                if not all(strings):
                    found.append(f"{locale}/{domain}.po: untranslated {name!r}")
                if message.fuzzy:
                    found.append(f"{locale}/{domain}.po: fuzzy {name!r}")
    return found


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "update"
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    elif command == "check":
        found = problems()
        print("\n".join(found) or "catalogues complete")
        return 1 if found else 0
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
