"""Drives the agent's page (empmon agent serve) in headless Chromium, as a village clerk would.

Usage: agent_page.py URL VILLAGE BAD_FILE GOOD_FILE SCREENSHOT_DIR
Prints one JSON object with what the page showed.
"""
import json
import sys
import urllib.error
import urllib.request

from playwright.sync_api import sync_playwright

url, village, bad_file, good_file, shots = sys.argv[1:6]
result = {}

# A page from elsewhere cannot drive it: a POST without the page's own header is refused.
try:
    urllib.request.urlopen(urllib.request.Request(url + "api/flush", data=b"", method="POST"))
    result["post_without_header"] = 200
except urllib.error.HTTPError as error:
    result["post_without_header"] = error.code

with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
    page = browser.new_page(viewport={"width": 1100, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page.goto(url)
    page.wait_for_selector("#unit option", state="attached")
    result["agent_line"] = page.text_content("#agent")
    page.select_option("#unit", village)
    page.fill("#period", "2024-10")

    page.set_input_files("#file", bad_file)
    page.wait_for_selector("#errors-box:not([hidden])", timeout=30000)
    result["errors"] = page.eval_on_selector_all(
        "#errors tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    result["message_after_bad"] = page.text_content("#message")
    result["status_after_bad"] = page.evaluate("fetch('/api/status').then(r => r.json())")
    page.screenshot(path=shots + "/agent-page-errors.png", full_page=True)

    page.set_input_files("#file", good_file)
    # Selectors rather than wait_for_function: the page's CSP forbids the eval that the latter needs.
    page.wait_for_selector("#message >> text=已送达", timeout=60000)
    result["message_after_good"] = page.text_content("#message")
    result["errors_visible_after_good"] = page.is_visible("#errors-box")
    page.wait_for_selector("#status tbody tr", state="attached", timeout=30000)
    result["status_rows"] = page.eval_on_selector_all(
        "#status tbody tr", "rows => rows.map(r => Array.from(r.cells).map(c => c.textContent))")
    page.click("#flush")
    page.wait_for_selector("#delivery >> text=没有待发送", timeout=60000)
    result["flush_text"] = page.text_content("#delivery")
    page.screenshot(path=shots + "/agent-page-delivered.png", full_page=True)

    with page.expect_download() as download:
        page.click("#template-xlsx")
    template = download.value
    result["template_name"] = template.suggested_filename
    result["template_bytes"] = len(open(template.path(), "rb").read())
    browser.close()

print(json.dumps(result, ensure_ascii=False))
