"""Render the sample card shown in the README (docs/card-platinum.png).

    .venv/bin/python scripts/render_sample_card.py

The QR holds a real signed static code, made with a throwaway key: it verifies against that
key only, so the picture cannot be used as anyone's card.
"""

from pathlib import Path

from loyalty.cards.codes import CodeSigner
from loyalty.cards.image import CardFace, render_png

DOCS = Path(__file__).resolve().parent.parent / "docs"


def main() -> None:
    signer = CodeSigner.from_secret("sample card for the README; not a production key", key_id="demo")
    face = CardFace(
        tier="platinum",
        member_name="欧阳晓明",
        masked_number="8860 **** **** 2417",
        project_name="杭州·云湖里",
        code=signer.sign("static", 1),
    )
    (DOCS / "card-platinum.png").write_bytes(render_png(face))


if __name__ == "__main__":
    main()
