"""Opens the agent's page in headless Chromium after the city has stored one month and refused another, presses
「立即发送」 (which also reads the city's receipts), and reports the status and refused-rows tables.

Usage: agent_page_receipts.py URL SCREENSHOT_DIR
Prints one JSON object with what the page showed.
"""
import json
import sys

from playwright.sync_api import sync_playwright

url, shots = sys.argv[1:3]
result = {}
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
    page = browser.new_page(viewport={"width": 1100, "height": 1000}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page.goto(url)
    page.click("#flush")
    page.wait_for_selector("#rejected:not([hidden])", timeout=30000)
    result["status_rows"] = page.eval_on_selector_all(
        "#status tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    result["rejected_rows"] = page.eval_on_selector_all(
        "#rejected tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    result["receipts_line"] = page.text_content("#receipts")
    page.screenshot(path=shots + "/agent-page-receipts.png", full_page=True)
    browser.close()
print(json.dumps(result, ensure_ascii=False))
