"""The README's quick-start commands, so CI runs them as written and cannot drift from them.

    python3 .ci/quick_start.py 1    the first (serve the demo)
    python3 .ci/quick_start.py 2    the second (run the tests)
"""

from __future__ import annotations

import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def commands(readme: str) -> list[str]:
    """The ```bash blocks of the README's "Quick start" section, in order."""
    section = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    blocks = section.split("```bash\n")[1:]
    return [block.split("```", 1)[0].strip() for block in blocks]


def main(argv: list[str]) -> int:
    found = commands(README.read_text(encoding="utf-8"))
    if len(argv) != 1 or not argv[0].isdigit() or not 1 <= int(argv[0]) <= len(found):
        print(f"usage: quick_start.py N  (the README's quick start has {len(found)} commands)", file=sys.stderr)
        return 2
    print(found[int(argv[0]) - 1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
