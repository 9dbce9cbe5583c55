/// The clerk's page: one self-contained HTML document in Chinese, no outside resources (it must work with
/// the network down).
enum AgentPageHTML {
    static let html = #"""
        <!doctype html>
        <html lang="zh-CN">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>就业监测台账上报</title>
        <style>
          body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 0; background: #f4f6f8; color: #1d2733; }
          header { background: #1f5fa8; color: #fff; padding: 12px 24px; }
          header h1 { margin: 0; font-size: 20px; }
          header p { margin: 4px 0 0; font-size: 13px; opacity: .9; }
          main { max-width: 980px; margin: 0 auto; padding: 16px 24px; }
          section { background: #fff; border-radius: 6px; padding: 16px 20px; margin-bottom: 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
          h2 { font-size: 16px; margin: 0 0 12px; }
          label { margin-right: 16px; }
          select, input[type=month] { font-size: 15px; padding: 4px 6px; }
          #drop { border: 2px dashed #8aa4c4; border-radius: 6px; padding: 28px; text-align: center; margin: 12px 0; color: #4a5d73; cursor: pointer; }
          #drop.over { background: #e8f0fb; }
          button { font-size: 15px; padding: 6px 16px; margin-right: 8px; border-radius: 4px; border: 1px solid #1f5fa8; background: #1f5fa8; color: #fff; cursor: pointer; }
          button.secondary { background: #fff; color: #1f5fa8; }
          button:disabled { opacity: .5; cursor: default; }
          table { border-collapse: collapse; width: 100%; font-size: 14px; }
          th, td { border-bottom: 1px solid #e3e7ec; padding: 6px 8px; text-align: left; }
          th { background: #f0f3f7; }
          td.num { text-align: right; font-variant-numeric: tabular-nums; }
          .ok { color: #1a7f37; } .bad { color: #c0392b; } .warn { color: #9a6700; }
          #message { font-size: 15px; margin: 8px 0; }
          a { color: #1f5fa8; }
        </style>
        </head>
        <body>
        <header><h1>就业监测台账上报</h1><p id="agent">正在读取本机信息…</p></header>
        <main>
        <section>
          <h2>1. 选择月份和单位</h2>
          <label>月份 <input type="month" id="period"></label>
          <label>单位 <select id="unit"></select></label>
        </section>
        <section>
          <h2>2. 上传台账（xlsx 或 csv）</h2>
          <div id="drop">把台账文件拖到这里，或 <a href="#" id="choose">选择文件</a>
            <input type="file" id="file" accept=".xlsx,.csv,.txt" hidden></div>
          <div id="message"></div>
          <div id="errors-box" hidden>
            <table id="errors"><thead><tr><th>行</th><th>列</th><th>问题</th></tr></thead><tbody></tbody></table>
            <p>请改正后重新上传。也可以 <button class="secondary" id="send-good">只发送正确的行</button></p>
          </div>
          <p>没有台账模板？下载空白模板：<a href="/template.xlsx" id="template-xlsx">Excel（xlsx）</a> · <a href="/template.csv" id="template-csv">CSV</a></p>
        </section>
        <section>
          <h2>3. 上报情况</h2>
          <p><button id="flush">立即发送</button> <span id="delivery"></span></p>
          <p id="receipts"></p>
          <table id="status"><thead><tr><th>类型</th><th>月份</th><th>单位</th><th>待发送</th><th>已送达</th><th>已入库</th><th>被退回</th><th>发送失败</th></tr></thead><tbody></tbody></table>
          <h3 id="rejected-title" hidden>被市里退回的行（请改正后重新上传）</h3>
          <table id="rejected" hidden><thead><tr><th>月份</th><th>单位</th><th>行号</th><th>原因</th></tr></thead><tbody></tbody></table>
        </section>
        </main>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        const kinds = { person: "人员台账", activity: "工作情况" };
        let lastFile = null;

        function call(method, path, body) {
          return fetch(path, { method, body, headers: method === "POST" ? { "X-Empmon-Agent": "1" } : {} })
            .then(async (r) => {
              const data = await r.json().catch(() => ({}));
              if (!r.ok) throw new Error(data.title || ("服务返回 " + r.status));
              return data;
            });
        }

        function text(tag, value, cls) {
          const cell = document.createElement(tag);
          cell.textContent = value;
          if (cls) cell.className = cls;
          return cell;
        }

        function say(html, cls) { const m = $("message"); m.textContent = html; m.className = cls || ""; }

        function describeDelivery(d) {
          if (!d) return "";
          if (d.pending === 0) return "没有待发送的记录";
          if (d.failed > 0 || d.delivered < d.pending) return "已送达 " + d.delivered + " 条，" + (d.pending - d.delivered) + " 条待网络恢复后自动发送";
          return "已送达 " + d.delivered + " 条";
        }

        async function loadAgent() {
          const info = await call("GET", "/api/agent");
          $("agent").textContent = info.unit.tier + " " + info.unit.name + "（" + info.unit.code + "）· 本机编号 " + info.agent;
          $("period").value = info.month;
          const select = $("unit");
          const choices = info.villages.length ? info.villages : [info.unit];
          for (const unit of choices) {
            const option = document.createElement("option");
            option.value = unit.code;
            option.textContent = unit.name + "（" + unit.code + "）";
            select.appendChild(option);
          }
        }

        async function loadStatus() {
          const answer = await call("GET", "/api/status");
          const body = $("status").tBodies[0];
          body.replaceChildren();
          for (const row of answer.months) {
            const tr = document.createElement("tr");
            tr.append(text("td", kinds[row.kind] || row.kind), text("td", row.period), text("td", row.unit),
              text("td", row.pending, "num" + (row.pending ? " warn" : "")), text("td", row.delivered, "num"),
              text("td", row.stored, "num ok"), text("td", row.rejected, "num" + (row.rejected ? " bad" : "")),
              text("td", row.failing, "num" + (row.failing ? " bad" : "")));
            body.appendChild(tr);
          }
          const rejected = $("rejected").tBodies[0];
          rejected.replaceChildren();
          for (const row of answer.rejections) {
            const tr = document.createElement("tr");
            tr.append(text("td", row.period), text("td", row.unit), text("td", row.line ?? ""), text("td", row.reason, "bad"));
            rejected.appendChild(tr);
          }
          $("rejected").hidden = $("rejected-title").hidden = answer.rejections.length === 0;
          $("receipts").textContent = answer.receipts.lastReadAt
            ? "市里回执：最近一次 " + new Date(answer.receipts.lastReadAt).toLocaleString("zh-CN") + "（已入库 = 市里已确认收到）"
            : "尚未收到市里回执" + (answer.receipts.lastError ? "（回执无法读取，记录照常发送）" : "");
          if (answer.lastDelivery) $("delivery").textContent = "上次发送 " + new Date(answer.lastDelivery.at).toLocaleString("zh-CN") + "：" + describeDelivery(answer.lastDelivery);
        }

        async function upload(file, skipInvalid) {
          lastFile = file;
          $("errors-box").hidden = true;
          say("正在检查 " + file.name + " …");
          const query = new URLSearchParams({ period: $("period").value, unit: $("unit").value, name: file.name });
          if (skipInvalid) query.set("skipInvalid", "1");
          try {
            const answer = await call("POST", "/api/submit?" + query, await file.arrayBuffer());
            const body = $("errors").tBodies[0];
            body.replaceChildren();
            for (const e of answer.errors) {
              const tr = document.createElement("tr");
              tr.append(text("td", "第" + e.line + "行"), text("td", e.column), text("td", e.reason, "bad"));
              body.appendChild(tr);
            }
            if (answer.spooled === 0 && answer.errors.length) {
              $("errors-box").hidden = false;
              say(file.name + "：共 " + answer.rows + " 行，发现 " + answer.errors.length + " 处问题，未发送任何记录。", "bad");
            } else {
              let note = file.name + "：已保存 " + answer.spooled + " 条记录";
              if (answer.errors.length) { $("errors-box").hidden = false; note += "（跳过有问题的行）"; }
              if (answer.missingFromPrevious.length) note += "。注意：本月上次上报中第 " + answer.missingFromPrevious.slice(0, 20).join("、") + " 行的人员不在本次文件中，其原记录保持不变";
              note += "。" + describeDelivery(answer.delivery);
              say(note, answer.delivery && answer.delivery.delivered === answer.spooled ? "ok" : "warn");
            }
          } catch (error) {
            say("上传失败：" + error.message, "bad");
          }
          await loadStatus();
        }

        $("choose").addEventListener("click", (e) => { e.preventDefault(); $("file").click(); });
        $("drop").addEventListener("click", (e) => { if (e.target.id === "drop") $("file").click(); });
        $("file").addEventListener("change", (e) => { if (e.target.files[0]) upload(e.target.files[0], false); e.target.value = ""; });
        $("drop").addEventListener("dragover", (e) => { e.preventDefault(); $("drop").classList.add("over"); });
        $("drop").addEventListener("dragleave", () => $("drop").classList.remove("over"));
        $("drop").addEventListener("drop", (e) => {
          e.preventDefault();
          $("drop").classList.remove("over");
          if (e.dataTransfer.files[0]) upload(e.dataTransfer.files[0], false);
        });
        $("send-good").addEventListener("click", () => { if (lastFile) upload(lastFile, true); });
        $("flush").addEventListener("click", async () => {
          $("flush").disabled = true;
          $("delivery").textContent = "正在发送…";
          try { const d = await call("POST", "/api/flush"); $("delivery").textContent = describeDelivery(d); }
          catch (error) { $("delivery").textContent = "发送失败：" + error.message; }
          $("flush").disabled = false;
          await loadStatus();
        });
        loadAgent().then(loadStatus).catch((error) => say("无法连接本机上报程序：" + error.message, "bad"));
        setInterval(() => loadStatus().catch(() => {}), 15000);
        </script>
        </body>
        </html>
        """#
}
