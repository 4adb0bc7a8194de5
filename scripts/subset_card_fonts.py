"""Make the card fonts shipped in loyalty/cards/fonts from Debian's fonts-noto-cjk.

Noto Sans CJK SC (SIL Open Font License 1.1) subset to every character of GBK, so owner names
render on a machine without CJK fonts. Run after `apt-get install fonts-noto-cjk`:

    .venv/bin/pip install fonttools && .venv/bin/python scripts/subset_card_fonts.py
"""

from pathlib import Path

from fontTools import subset

SOURCE = Path("/usr/share/fonts/opentype/noto")
TARGET = Path(__file__).resolve().parent.parent / "loyalty" / "cards" / "fonts"
SC_FACE = 2  # JP, KR, SC, TC, HK in the collection


def gbk_characters() -> str:
    chars = []
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            try:
                chars.append(bytes([lead, trail]).decode("gbk"))
            except UnicodeDecodeError:
                continue
    return "".join(chars) + "".join(chr(c) for c in range(0x20, 0x7F)) + "·•★¥￥—–“”‘’…"


def main() -> None:
    text = gbk_characters()
    for weight in ("Regular", "Bold"):
        options = subset.Options()
        options.font_number = SC_FACE
        options.layout_features = ["kern", "liga", "palt"]
        options.name_IDs = ["*"]
        options.hinting = False
        options.desubroutinize = False
        font = subset.load_font(str(SOURCE / f"NotoSansCJK-{weight}.ttc"), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=text)
        subsetter.subset(font)
        out = TARGET / f"NotoSansSC-{weight}-GBK.otf"
        subset.save_font(font, str(out), options)
        print(out, out.stat().st_size // 1024, "KiB")


if __name__ == "__main__":
    main()
