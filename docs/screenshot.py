"""Regenerate docs/screenshot.png: the web chat answering a contested question.

.venv/bin/python docs/screenshot.py   (needs Debian's chromium; builds index/ if missing)
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "How much aid has Japan given Ukraine?"


def main() -> None:
    port = 7871
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1500})
            for _ in range(120):
                try:
                    page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
                    break
                except Exception:
                    time.sleep(1)
            box = page.locator("#question textarea")
            box.wait_for(timeout=120_000)
            box.fill(QUESTION)
            box.press("Enter")
            page.locator("#sources-panel .side-badge").first.wait_for(timeout=60_000)
            page.screenshot(path=str(ROOT / "docs" / "screenshot.png"), full_page=False)
            browser.close()
    finally:
        proc.terminate()


if __name__ == "__main__":
    main()
