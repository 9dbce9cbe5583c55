"""Opens the dashboard in headless Chromium, reads the county map, then clicks one county with the mouse (at its
label, where the page draws its name) and reports where the click led.

Usage: dashboard_map.py URL COUNTY_CODE SCREENSHOT_DIR
Prints one JSON object with what the page showed before and after the click.
"""
import json
import sys

from playwright.sync_api import sync_playwright

url, county, shots = sys.argv[1:4]
result = {}
with sync_playwright() as playwright:
    browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
    page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="zh-CN", timezone_id="Asia/Shanghai")
    page.goto(url)
    page.wait_for_selector("#map path.drill", timeout=30000)
    result["areas"] = page.eval_on_selector_all(
        "#map path.drill",
        "paths => paths.map(p => ({unit: p.dataset.unit, value: p.dataset.value, cls: Number(p.dataset.class),"
        " fill: p.getAttribute('fill'), title: p.querySelector('title').textContent}))")
    result["legend"] = page.text_content("#map .legend")
    result["title"] = page.text_content("#map-title")
    page.screenshot(path=shots + "/dashboard-map.png", full_page=True)
    # The county's label point, in the page's pixels: the map's own coordinates through the SVG's screen transform.
    point = page.evaluate(
        """code => {
          const svg = document.querySelector('#map svg');
          const label = [...svg.querySelectorAll('text')].find(t => t.textContent ===
            document.querySelector(`#map path[data-unit="${code}"]`).dataset.name);
          const p = svg.createSVGPoint(); p.x = Number(label.getAttribute('x')); p.y = Number(label.getAttribute('y')) - 4;
          const s = p.matrixTransform(svg.getScreenCTM());
          const hit = document.elementFromPoint(s.x, s.y);
          return {x: s.x, y: s.y, hit: hit && hit.dataset ? hit.dataset.unit || null : null};
        }""", county)
    result["hit"] = point["hit"]
    page.mouse.click(point["x"], point["y"])
    page.wait_for_function(
        "code => document.querySelector('#crumbs').textContent.split('›').length === 2"
        " && document.querySelector('#units tr.drill, #units tr[data-unit]')"
        " && [...document.querySelectorAll('#units tr[data-unit]')].every(r => r.dataset.unit.startsWith(code.slice(0, 6)))",
        arg=county, timeout=30000)
    result["crumbs"] = page.text_content("#crumbs")
    result["units_after"] = page.eval_on_selector_all("#units tr[data-unit]", "rows => rows.map(r => r.dataset.unit)")
    result["map_after"] = page.text_content("#map")
    browser.close()
print(json.dumps(result, ensure_ascii=False))
