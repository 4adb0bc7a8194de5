"""docs/partner-quickstart.md is followed by a merchant's developer command by command: its `sh`
blocks, run top to bottom as one bash script against `loyalty serve --demo`, must work as
written. Only the three lines the reader fills in by hand (the server, the key the demo prints,
the login code from the server log) are replaced, with the values this demo printed."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "partner-quickstart.md"
LOYALTY = Path(sys.executable).parent / "loyalty"
SH_BLOCK = re.compile(r"^```sh\n(.*?)^```", re.DOTALL | re.MULTILINE)


def guide_script() -> str:
    return "\n".join(SH_BLOCK.findall(GUIDE.read_text(encoding="utf-8")))


def filled_in(script: str, api: str, key: str, log: Path) -> str:
    """The guide's script with the reader's three hand-filled lines given this demo's values."""
    replacements = {
        "export OC_API=": f"export OC_API={api}",
        "export OC_KEY=": f"export OC_KEY={key}",
        # The demo has no broker, so the login code is logged before the request is answered.
        "LOGIN_CODE=": f"LOGIN_CODE=$(grep -o '验证码是 [0-9]*' {log} | tail -1 | grep -o '[0-9]*$')",
    }
    lines = []
    for line in script.splitlines():
        for start, replacement in replacements.items():
            if line.startswith(start):
                line = replacement
                replacements.pop(start)
                break
        lines.append(line)
    assert not replacements, f"the guide no longer has these lines to fill in: {list(replacements)}"
    return "\n".join(lines)


def test_the_guide_has_its_commands_in_sh_blocks_that_bash_can_parse():
    script = guide_script()
    assert "/partner/v1/sales/$SALE_ID/reversals" in script
    assert "/partner/v1/sales/1/" not in script  # the demo has many sales: use the id the sale answered
    assert subprocess.run(["bash", "-n"], input=script, text=True, capture_output=True).returncode == 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_every_command_of_the_guide_works_against_the_demo(tmp_path):
    # A missing curl fails, never skips: a guide nobody ran is not known to work.
    assert shutil.which("curl"), "the guide's commands use curl: install it (Debian: apt-get install curl)"
    port = free_port()
    log = tmp_path / "server.log"
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LOYALTY_")}
    environment["COLUMNS"] = "300"  # the demo's banner must not wrap the printed key
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(LOYALTY), "serve", "--demo", "--port", str(port)],
            cwd=tmp_path, env=environment, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180  # loading the demo takes seconds; a hang must not hang the suite
        while "Uvicorn running on" not in log.read_text(encoding="utf-8", errors="replace"):
            assert server.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, log.read_text(encoding="utf-8", errors="replace")
            time.sleep(0.2)
        key = re.search(r"ocm_live_[A-Za-z0-9_-]+", log.read_text(encoding="utf-8")).group(0)
        script = filled_in(guide_script(), f"http://127.0.0.1:{port}", key, log)
        run = subprocess.run(
            ["bash", "-euo", "pipefail"], input=script, cwd=tmp_path, text=True, capture_output=True, timeout=120
        )
    finally:
        server.terminate()
        server.wait(timeout=30)

    assert run.returncode == 0, run.stderr + run.stdout
    out = run.stdout
    assert '"items":[' in out  # 1. the key authenticates
    assert '"code_kind":"dynamic"' in out and '"code_can_pay":true' in out  # 3. the live code verifies
    assert '"points_redeemed":5000' in out and '"cash_fen":103800' in out  # 4. the sale with points
    assert '"amount_fen":32000' in out and '"points_returned":1250' in out  # 5. the reversal of that sale
    assert '"month":"' in out and '"points_value_owed_fen":' in out  # 6. the settlement
    assert "/problems/" not in out, out
    assert list(tmp_path.glob("settlement-*.csv")), "the CSV settlement was not saved"
