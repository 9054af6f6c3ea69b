"""A light start: the libraries that only make files (spreadsheets, calendar files, QR codes,
charts; with numpy and PIL behind them about 22 MB) are imported when a file is made, not when
the bot starts."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("openpyxl", "numpy", "PIL", "segno", "icalendar", "matplotlib")


def test_starting_the_bot_imports_no_file_library() -> None:
    code = (
        "import sys, bot.__main__, bot.runtime.app;"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == ""


def test_the_files_are_still_made() -> None:
    from bot.events.files import checkin_qr

    assert checkin_qr("https://t.me/example_bot?start=chk_1").startswith(b"\x89PNG")
