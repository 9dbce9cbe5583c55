/// The web dashboard: one page of plain HTML, CSS and JavaScript, served at `/`, reading the API with the
/// token given in the address (`#token=…`) or typed in once (kept in the browser's local storage).
enum DashboardPage {
    static let html = #"""
        <!DOCTYPE html>
        <html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>长治市就业监测平台</title>
        <style>
        body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; margin: 0; color: #1d1d1f; background: #f4f6f9; }
        header { background: #23476f; color: #fff; padding: 10px 20px; display: flex; gap: 16px; align-items: center; flex-wrap: wrap; }
        header h1 { font-size: 18px; margin: 0; font-weight: 600; }
        header label, header select, header input, header button { font-size: 13px; }
        main { padding: 14px 20px; display: grid; grid-template-columns: 1fr 1fr; gap: 14px; }
        section { background: #fff; border-radius: 6px; padding: 10px 14px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
        section.wide { grid-column: 1 / span 2; }
        h2 { font-size: 15px; margin: 2px 0 8px; color: #23476f; }
        table { border-collapse: collapse; width: 100%; font-size: 13px; }
        th, td { border-bottom: 1px solid #e3e8ee; padding: 4px 6px; text-align: right; }
        th { background: #eef2f7; text-align: center; }
        td.name { text-align: left; }
        tr.drill { cursor: pointer; } tr.drill:hover { background: #f0f5fb; }
        .crumbs a { color: #cfe0f5; cursor: pointer; margin-right: 6px; }
        .good { color: #1e7b34; } .bad { color: #b03a2e; } .muted { color: #777; } .estimated { font-style: italic; color: #8a5a00; }
        .sev-critical { color: #b03a2e; font-weight: 600; } .sev-warning { color: #b9770e; }
        #login { display: none; }
        #map svg path.drill { cursor: pointer; } #map svg path.drill:hover { stroke: #c0392b; stroke-width: 2; }
        #map .legend { font-size: 12px; display: flex; gap: 10px; flex-wrap: wrap; margin-top: 4px; }
        #map .legend i { display: inline-block; width: 14px; height: 10px; margin-right: 3px; vertical-align: -1px; }
        </style></head><body>
        <header>
          <h1>长治市就业监测平台</h1>
          <span class="crumbs" id="crumbs"></span>
          <label>月份 <input id="period" size="7"></label>
          <label>指标 <select id="indicator"></select></label>
          <span id="login"><input id="token" placeholder="访问令牌 emt_…" size="30"> <button id="save">登录</button></span>
          <span id="status" class="muted"></span>
        </header>
        <main>
          <section><h2 id="targets-title">年度目标完成情况</h2><table id="targets"></table></section>
          <section><h2 id="chart-title">指标走势与预测</h2><div id="chart"></div></section>
          <section><h2 id="map-title">县区分布</h2><div id="map"></div></section>
          <section><h2>触发中的预警</h2><table id="alerts"></table></section>
          <section class="wide"><h2 id="units-title">下级单位</h2><table id="units"></table></section>
          <section><h2>报送完整率</h2><table id="completeness"></table></section>
          <section class="wide"><h2 id="quality-title">数据质量</h2><div id="quality-summary" class="muted"></div><table id="quality"></table></section>
        </main>
        <script>
        const names = {new_urban_employment: "城镇新增就业人数", employed: "就业人数", labour_force: "劳动力人数", registered_unemployed: "登记失业人数",
          reemployed: "失业人员再就业人数", registered_unemployment_rate: "登记失业率（全部劳动力）", urban_registered_unemployment_rate: "城镇登记失业率", placement_rate: "失业人员再就业率", reporting_rate: "报送率"};
        const rates = new Set(["registered_unemployment_rate", "urban_registered_unemployment_rate", "placement_rate", "reporting_rate", "assistance_rate", "graduate_employment_rate"]);
        const tierBelow = {city: "county", county: "township", township: "village"};
        const signals = {late: "逾期报送", corrected: "更正改变就业状态", copied_forward: "照抄上月", no_change_in_year: "全年无状态变化", double_reported: "重复填报", rejected: "记录被拒"};
        const tierName = {city: "市", county: "县（区）", township: "乡镇（街道）", village: "村（社区）"};
        const params = new URLSearchParams(location.hash.slice(1));
        if (params.get("token")) localStorage.setItem("empmon-token", params.get("token"));
        let token = localStorage.getItem("empmon-token") || "";
        const state = {unit: params.get("unit"), trail: [], meta: null, map: null};
        // The report's classes too (SVGChart.choroplethPalette): five of equal width from the lowest value to the highest.
        const palette = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"];
        const $ = id => document.getElementById(id);
        const fmt = (v, rate) => v === null || v === undefined ? "–" : rate ? (v * 100).toFixed(1) + "%" : Math.round(v).toLocaleString("zh-CN");
        const esc = s => String(s).replace(/[&<>"]/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"}[c]));

        async function api(path) {
          const response = await fetch(path, {headers: {Authorization: "Bearer " + token}});
          const body = await response.json();
          if (!response.ok) throw new Error(body.detail || response.status);
          return body;
        }

        async function start() {
          for (const [id, name] of Object.entries(names)) $("indicator").insertAdjacentHTML("beforeend", `<option value="${id}">${name}</option>`);
          $("indicator").value = params.get("indicator") || "employed";
          if (!token) { $("login").style.display = "inline"; $("status").textContent = "请输入访问令牌"; return; }
          try { state.meta = await api("/api/v1/meta"); } catch (e) { $("login").style.display = "inline"; $("status").textContent = "令牌无效：" + e.message; return; }
          state.unit = state.unit || state.meta.scope;
          $("period").value = params.get("period") || state.meta.latestPeriod || "";
          state.trail = [{code: state.meta.scope, name: state.meta.scopeName, tier: state.meta.scopeTier}];
          try { state.map = await api("/api/v1/map"); } catch (e) { state.map = null; }
          await show(state.unit);
        }

        async function show(code) {
          const index = state.trail.findIndex(t => t.code === code);
          if (index >= 0) state.trail = state.trail.slice(0, index + 1);
          const current = state.trail[state.trail.length - 1];
          $("crumbs").innerHTML = state.trail.map(t => `<a data-code="${t.code}">${esc(t.name)}</a>`).join("› ");
          document.querySelectorAll("#crumbs a").forEach(a => a.onclick = () => show(a.dataset.code));
          const period = $("period").value, indicator = $("indicator").value, below = tierBelow[current.tier];
          $("status").textContent = `${current.name} · ${period}`;
          const jobs = [targets(current, period), chart(current, indicator, period), alerts(current), quality(current, period)];
          if (below) jobs.push(units(current, below, period, indicator), completeness(current, below, period));
          else { $("units").innerHTML = "<tr><td class='name muted'>村（社区）为最末一级</td></tr>"; $("completeness").innerHTML = ""; }
          if (below !== "county") {
            $("map-title").textContent = "县区分布";
            $("map").innerHTML = `<p class="muted">${state.map ? "乡镇（街道）边界暂无公开数据，地图只到县区一级；请看下方表格。" : "服务未配置县区边界（Topology/counties.geojson）。"}</p>`;
          }
          await Promise.all(jobs);
          document.body.dataset.ready = "yes";
        }

        async function targets(unit, period) {
          const body = await api(`/api/v1/targets?period=${period}&unit=${unit.code}`);
          $("targets-title").textContent = `${unit.name} 年度目标完成情况（时间进度 ${fmt(body.targets[0]?.yearElapsed, true)}）`;
          $("targets").innerHTML = "<tr><th>指标</th><th>年累计</th><th>目标</th><th>进度</th></tr>" + body.targets.map(t => {
            const rate = rates.has(t.indicator);
            const cls = t.progress === null || t.progress === undefined ? "" : t.progress >= t.yearElapsed ? "good" : "bad";
            return `<tr data-indicator="${t.indicator}" data-ytd="${t.yearToDate ?? ""}"><td class="name">${esc(t.name)}</td><td>${fmt(t.yearToDate, rate)}</td><td>${fmt(t.target, rate)}</td><td class="${cls}">${fmt(t.progress, true)}</td></tr>`;
          }).join("");
        }

        async function units(unit, tier, period, indicator) {
          const body = await api(`/api/v1/situation?tier=${tier}&period=${period}&indicator=${indicator}&within=${unit.code}`);
          const rate = rates.has(indicator);
          $("units-title").textContent = `${unit.name} 下辖${tierName[tier]}：${names[indicator]}（${period}）`;
          $("units").innerHTML = "<tr><th>排名</th><th>单位</th><th>本月</th><th>环比</th><th>同比</th><th>年累计</th><th>报送率</th><th>含未报估计</th><th>状态</th></tr>" +
            body.rows.slice().sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9)).map(r =>
              `<tr class="${tierBelow[tier] ? "drill" : ""}" data-unit="${r.unit}" data-name="${esc(r.name)}" data-value="${r.value ?? ""}">` +
              `<td>${r.rank ?? "–"}</td><td class="name">${esc(r.name)}</td><td>${fmt(r.value, rate)}</td><td>${r.monthOnMonth === undefined ? "–" : rate ? (r.monthOnMonth * 100).toFixed(1) + " 点" : Math.round(r.monthOnMonth)}</td>` +
              `<td>${r.yearOnYear === undefined ? "–" : rate ? (r.yearOnYear * 100).toFixed(1) + " 点" : Math.round(r.yearOnYear)}</td><td>${fmt(r.yearToDate, rate)}</td><td>${fmt(r.reportingRate, true)}</td>` +
              (r.estimate === undefined || r.estimate === null ? `<td class="muted">–</td>` :
                `<td class="estimated" title="${r.estimatedVillages} 个未报村（社区）按上月数据估计">${fmt(r.estimate, rate)}（估）</td>`) +
              `<td class="muted">${r.status === "revised" ? "修订" : "初步"}</td></tr>`).join("");
          document.querySelectorAll("#units tr.drill").forEach(row => row.onclick = () => {
            state.trail.push({code: row.dataset.unit, name: row.dataset.name, tier});
            show(row.dataset.unit);
          });
          if (tier === "county") countyMap(unit, body.rows, indicator, period);
        }

        // The counties coloured by the indicator, from the API's outlines (/api/v1/map); a click drills down as the table's rows do.
        function countyMap(unit, rows, indicator, period) {
          const rate = rates.has(indicator);
          $("map-title").textContent = `${unit.name} 各县区${names[indicator]}（${period}）`;
          if (!state.map) { $("map").innerHTML = "<p class='muted'>服务未配置县区边界（Topology/counties.geojson）。</p>"; return; }
          // A county none of whose villages reported has no figure to colour (its table row reads 0).
          const figure = r => r && r.reportingRate > 0 && r.value !== null && r.value !== undefined && isFinite(r.value) ? r.value : null;
          const byUnit = new Map(rows.map(r => [r.unit, r]));
          const values = rows.map(figure).filter(v => v !== null);
          const lo = Math.min(...values), hi = Math.max(...values);
          const step = (hi - lo) / palette.length;
          const band = v => hi > lo ? Math.min(palette.length - 1, Math.max(0, Math.floor((v - lo) / (hi - lo) * palette.length))) : Math.floor(palette.length / 2);
          let svg = `<svg viewBox="0 0 ${state.map.width} ${state.map.height}" width="100%">`;
          for (const area of state.map.areas) {
            const row = byUnit.get(area.unit), value = figure(row);
            const cls = value === null ? -1 : band(value);
            svg += `<path class="drill" d="${area.path}" fill="${value === null ? "#e0e0e0" : palette[cls]}" stroke="#fff" stroke-width="1" data-unit="${area.unit}" data-name="${esc(area.name)}" data-value="${value ?? ""}" data-class="${cls}">` +
              `<title>${esc(area.name)}：${value === null ? "未报送" : fmt(value, rate)}${value !== null && row.rank ? `（第 ${row.rank} 名）` : ""}</title></path>`;
          }
          for (const area of state.map.areas) {
            const value = figure(byUnit.get(area.unit));
            const dark = value !== null && band(value) >= 3;
            svg += `<text x="${area.labelX}" y="${area.labelY}" font-size="11" text-anchor="middle" pointer-events="none" fill="${dark ? "#fff" : "#1d1d1f"}">${esc(area.name)}</text>`;
          }
          svg += "</svg>";
          const legend = values.length === 0 ? "<span class='muted'>本月无数据</span>" :
            palette.map((color, i) => `<span><i style="background:${color}"></i>${fmt(lo + step * i, rate)}–${fmt(lo + step * (i + 1), rate)}</span>`).join("");
          $("map").innerHTML = svg + `<div class="legend">${legend}</div>`;
          document.querySelectorAll("#map path.drill").forEach(path => path.onclick = () => {
            state.trail.push({code: path.dataset.unit, name: path.dataset.name, tier: "county"});
            show(path.dataset.unit);
          });
        }

        async function completeness(unit, tier, period) {
          const body = await api(`/api/v1/completeness?tier=${tier}&period=${period}&within=${unit.code}`);
          const incomplete = body.units.filter(u => u.rate !== null && u.rate !== undefined && u.rate < 1);
          const reported = body.units.filter(u => u.rate === 1).length;
          $("completeness").innerHTML = `<tr><td class="name" colspan="2">${tierName[tier]}：${reported} 个报齐，${incomplete.length} 个未报齐</td></tr>` +
            incomplete.slice(0, 12).map(u => `<tr><td class="name">${esc(u.name)}</td><td class="bad">${fmt(u.rate, true)}</td></tr>`).join("");
        }

        // The villages under the unit whose month is flagged, lowest score first; the whole table goes out as Excel.
        async function quality(unit, period) {
          let body;
          try { body = await api(`/api/v1/quality?period=${period}&within=${unit.code}`); }
          catch (e) { $("quality-summary").textContent = "无数据质量信息：" + e.message; $("quality").innerHTML = ""; return; }
          const flagged = body.villages.filter(v => v.flags.length > 0).sort((a, b) => a.score - b.score || a.unit.localeCompare(b.unit));
          $("quality-title").innerHTML = `${esc(unit.name)} 村（社区）数据质量（${period}） <button id="quality-xlsx">导出 Excel</button>`;
          $("quality-xlsx").onclick = async () => {
            const response = await fetch(`/api/v1/quality?period=${period}&within=${unit.code}&format=xlsx`, {headers: {Authorization: "Bearer " + token}});
            const link = document.createElement("a");
            link.href = URL.createObjectURL(await response.blob());
            link.download = `数据质量-${unit.name}-${period}.xlsx`;
            link.click();
          };
          const counts = Object.entries(signals).map(([key, name]) => `${name} ${body.flagged[key] || 0}`).join("，");
          $("quality-summary").textContent = `${body.villages.length} 个村（社区）已报送，${flagged.length} 个有问题：${counts}。全市本月记录变动率 ${fmt(body.changeRate, true)}。`;
          const detail = v => [
            v.daysLate ? `${v.firstReportedOn} 报送，逾期 ${v.daysLate} 天` : "",
            v.correctedStatuses ? `更正 ${v.correctedStatuses} 人状态` : "",
            v.flags.includes("copied_forward") ? `与上月完全相同（${v.persons} 人）` : "",
            v.flags.includes("no_change_in_year") ? "12 个月无人状态变化" : "",
            ...v.doubleReports.map(d => `与 ${esc(d.otherVillage)} 重复 ${d.persons} 人${d.keptHere ? "（以本村为准）" : "（以对方为准）"}`),
            ...Object.entries(v.rejected).map(([reason, n]) => `被拒 ${n} 条（${esc(reason)}）`),
          ].filter(Boolean).join("；");
          $("quality").innerHTML = flagged.length === 0 ? "<tr><td class='name muted'>本月无数据质量问题</td></tr>" :
            "<tr><th>评分</th><th>村（社区）</th><th>人数</th><th>问题</th><th>详情</th></tr>" +
            flagged.slice(0, 50).map(v => `<tr data-quality-unit="${v.unit}" data-score="${v.score}"><td class="${v.score < 60 ? "bad" : ""}">${v.score}</td>` +
              `<td class="name">${esc(v.name || v.unit)}</td><td>${v.persons}</td><td class="name">${v.flags.map(f => signals[f] || f).join("、")}</td><td class="name">${detail(v)}</td></tr>`).join("");
        }

        async function alerts(unit) {
          const body = await api("/api/v1/alerts?state=firing");
          const prefix = {city: 4, county: 6, township: 9, village: 12}[unit.tier];
          const mine = body.filter(a => a.unit.slice(0, prefix) === unit.code.slice(0, prefix));
          $("alerts").innerHTML = mine.length === 0 ? "<tr><td class='name muted'>无</td></tr>" :
            mine.slice(0, 15).map(a => `<tr><td class="name sev-${a.severity}">${{critical: "严重", warning: "警告", info: "提示"}[a.severity] || a.severity}</td><td class="name">${esc(a.message)}</td></tr>`).join("");
        }

        async function chart(unit, indicator, period) {
          const [y, m] = period.split("-").map(Number);
          const from = `${y - 2}-${String(m).padStart(2, "0")}`;
          const series = await api(`/api/v1/units/${unit.code}/series?indicator=${indicator}&from=${from}&to=${period}`);
          let forecast = [];
          try { forecast = (await api(`/api/v1/units/${unit.code}/forecast?indicator=${indicator}`)).points; } catch (e) { forecast = []; }
          const history = series.points.filter(p => p.value !== null && p.value !== undefined);
          const labels = history.map(p => p.period).concat(forecast.map(p => p.period));
          const values = history.map(p => p.value).concat(forecast.flatMap(p => [p.lo95 ?? p.mean, p.hi95 ?? p.mean]));
          const rate = rates.has(indicator);
          $("chart-title").textContent = `${unit.name}：${names[indicator]}（近两年与预测）`;
          if (history.length === 0) { $("chart").innerHTML = "<p class='muted'>无数据</p>"; return; }
          const W = 560, H = 220, L = 50, R = 10, T = 10, B = 30;
          const hi = Math.max(...values, 0) || 1, lo = Math.min(...values, 0);
          const x = i => L + (W - L - R) * i / Math.max(1, labels.length - 1), yy = v => T + (H - T - B) * (1 - (v - lo) / (hi - lo || 1));
          let svg = `<svg viewBox="0 0 ${W} ${H}" width="100%" data-points="${history.length}">`;
          for (let k = 0; k <= 4; k++) { const v = lo + (hi - lo) * k / 4; svg += `<line x1="${L}" x2="${W - R}" y1="${yy(v)}" y2="${yy(v)}" stroke="#e3e8ee"/><text x="${L - 4}" y="${yy(v) + 4}" font-size="10" text-anchor="end">${fmt(v, rate)}</text>`; }
          labels.forEach((label, i) => { if (i % 4 === 0) svg += `<text x="${x(i)}" y="${H - 10}" font-size="10" text-anchor="middle">${label.slice(2)}</text>`; });
          if (forecast.length) {
            const start = history.length;
            const band = (lo, hi) => forecast.map((p, i) => `${x(start + i)},${yy(p[hi] ?? p.mean)}`).join(" ") + " " + forecast.map((p, i) => `${x(start + i)},${yy(p[lo] ?? p.mean)}`).reverse().join(" ");
            svg += `<polygon points="${band("lo95", "hi95")}" fill="#c0392b" fill-opacity="0.12"/><polygon points="${band("lo80", "hi80")}" fill="#c0392b" fill-opacity="0.22"/>`;
            svg += `<polyline fill="none" stroke="#c0392b" stroke-dasharray="5 3" stroke-width="1.8" points="${x(start - 1)},${yy(history[start - 1].value)} ${forecast.map((p, i) => `${x(start + i)},${yy(p.mean)}`).join(" ")}"/>`;
          }
          svg += `<polyline fill="none" stroke="#23476f" stroke-width="2" points="${history.map((p, i) => `${x(i)},${yy(p.value)}`).join(" ")}"/></svg>`;
          $("chart").innerHTML = svg;
        }

        $("save").onclick = () => { token = $("token").value.trim(); localStorage.setItem("empmon-token", token); start(); };
        $("period").onchange = () => show(state.trail[state.trail.length - 1].code);
        $("indicator").onchange = () => show(state.trail[state.trail.length - 1].code);
        start();
        </script></body></html>
        """#
}
