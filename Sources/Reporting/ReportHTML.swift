import Analysis
import Domain
import Foundation
import Situation

/// The monthly situation report as one self-contained HTML page (inline SVG, no scripts), in Chinese,
/// laid out for A4 printing.
package enum ReportHTML {
    package static func render(_ report: MonthlyReport) -> String {
        let period = report.period
        let title = "\(report.city.name)就业形势分析（\(period.year)年\(period.month)月）"
        var html = """
            <!DOCTYPE html>
            <html lang="zh-CN"><head><meta charset="utf-8"><title>\(e(title))</title>
            <style>
            @page { size: A4; margin: 14mm 12mm 16mm;
                    @bottom-center { content: "\(e(title)) · 第 " counter(page) " 页，共 " counter(pages) " 页"; font-size: 8pt; color: #777; } }
            body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", sans-serif; color: #1d1d1f;
                   max-width: 186mm; margin: 0 auto; padding: 8mm 0; font-size: 10.5pt; line-height: 1.55; background: #fff; }
            h1 { font-size: 19pt; margin: 0 0 2mm; letter-spacing: 0.5pt; }
            h2 { font-size: 13pt; margin: 7mm 0 2mm; padding-bottom: 1mm; border-bottom: 1.5px solid #3b6ea5; color: #23476f; }
            .meta { color: #555; font-size: 9.5pt; }
            .summary { background: #f3f6fa; border-left: 3px solid #3b6ea5; padding: 2mm 4mm; margin: 4mm 0; }
            table { border-collapse: collapse; width: 100%; font-size: 9.5pt; margin: 2mm 0; }
            th, td { border: 1px solid #c9d2dc; padding: 1.2mm 2mm; text-align: right; }
            th { background: #e8eef5; font-weight: 600; text-align: center; }
            td.name, th.name { text-align: left; }
            .good { color: #1e7b34; } .bad { color: #b03a2e; }
            /* Printed, a heading stays with what follows it, and a table, a chart or a row is not cut; a section may
               break between them, so that a long one does not leave half a page empty before it. */
            h2 { break-after: avoid; }
            table, .chart, .summary, tr { break-inside: avoid; }
            .chart { margin: 2mm 0 3mm; }
            .chart.map { width: 70%; margin: 2mm auto 3mm; }
            .note { color: #666; font-size: 8.5pt; margin-top: 6mm; border-top: 1px solid #ddd; padding-top: 2mm; }
            .est { color: #8a5a00; font-style: italic; font-size: 8.5pt; }
            .sev-critical { color: #b03a2e; font-weight: 600; } .sev-warning { color: #b9770e; } .sev-info { color: #555; }
            </style></head><body>
            <h1>\(e(title))</h1>
            <div class="meta">数据月份 \(period) · 数据状态：\(report.status == .preliminary ? "初步数据（次月报送截止后修订）" : "已修订") · 报送率 \(percent(report.completeness)) · 时间进度 \(percent(report.yearElapsed)) · 生成于 \(timestamp(report.generatedAt))</div>

            """
        html += summary(report)
        html += headlineSection(report)
        html += countySection(report)
        html += moverSection(report)
        html += alertSection(report)
        html += forecastSection(report)
        html += rateSection(report)
        html += qualitySection(report)
        html += """
            <div class="note">说明：各项计数逐级汇总，率由汇总后的分子、分母计算，不做平均。年度目标为市级目标，县区目标按劳动力占比分解。\
            预测为指数平滑（ETS，按 AICc 选型）、Theta 方法与季节 ARIMA 三者的等权平均，预测区间取三者区间的平均；分层预测经 MinT（收缩协方差）调和，上下级相加一致。\
            季节调整采用 X-11 类方法。某月在次月报送截止后标为修订数据。</div>
            </body></html>

            """
        return html
    }

    static func summary(_ report: MonthlyReport) -> String {
        var sentences: [String] = []
        if let nue = report.headlines.first(where: { $0.indicator.id == .newUrbanEmployment }),
            let ytd = nue.yearToDate
        {
            var text = "1—\(report.period.month)月全市城镇新增就业 \(number(ytd)) 人"
            if let progress = nue.progress {
                text += "，完成年度目标的 \(percent(progress))（时间进度 \(percent(report.yearElapsed))）"
            }
            sentences.append(text)
        }
        if let rate = report.headlines.first(where: { $0.indicator.id == .urbanRegisteredUnemploymentRate }),
            let value = rate.month
        {
            sentences.append(
                "城镇登记失业率 \(percent(value))"
                    + (rate.monthOnMonth.map {
                        "，环比\($0 >= 0 ? "上升" : "下降") \(String(format: "%.1f", abs($0) * 100)) 个百分点"
                    } ?? ""))
        }
        if let outlook = report.forecast?.outlook {
            sentences.append("预计全年城镇新增就业 \(number(outlook.expected)) 人，完成目标的概率约 \(percent(outlook.probability))")
        }
        if report.estimatedVillages > 0 {
            sentences.append("本月尚有 \(report.estimatedVillages) 个村（社区）未报送，标“含估计”的数字按其上月数据及所在县区已报村（社区）的变化推算")
        }
        let firing = report.alerts.count
        sentences.append(firing == 0 ? "当前无触发中的预警" : "当前触发中的预警 \(firing) 条")
        return "<p class=\"summary\">\(e(sentences.joined(separator: "；")))。</p>\n"
    }

    static func headlineSection(_ report: MonthlyReport) -> String {
        var html =
            "<section><h2>一、主要指标完成情况</h2><table><tr><th class=\"name\">指标</th><th>本月</th><th>年累计/当前</th><th>年度目标</th><th>完成进度</th><th>环比</th><th>同比</th></tr>\n"
        for item in report.headlines {
            let isRate = item.indicator.unit == .rate
            let fmt = { (value: Double?) in isRate ? percent(value) : number(value) }
            let progressClass = item.progress.map { $0 >= report.yearElapsed ? "good" : "bad" } ?? ""
            let estimate = item.estimate.map { "<br><span class=\"est\">含估计 \(fmt($0))</span>" } ?? ""
            html +=
                "<tr><td class=\"name\">\(e(item.indicator.chineseName))</td><td>\(fmt(item.month))\(estimate)</td><td>\(fmt(item.yearToDate))</td>"
            html += "<td>\(fmt(item.target))</td><td class=\"\(progressClass)\">\(percent(item.progress))</td>"
            html +=
                "<td>\(change(item.monthOnMonth, rate: isRate))</td><td>\(change(item.yearOnYear, rate: isRate))</td></tr>\n"
        }
        return html + "</table></section>\n"
    }

    static func countySection(_ report: MonthlyReport) -> String {
        let rows = report.counties.rows.sorted { ($0.rank ?? .max) < ($1.rank ?? .max) }
        var html =
            "<section><h2>二、县区城镇新增就业进度排名</h2><table><tr><th>排名</th><th class=\"name\">县区</th><th>本月</th><th>环比</th><th>年累计</th><th>年度目标</th><th>完成进度</th><th>报送率</th></tr>\n"
        for row in rows {
            let progressClass = row.progress.map { $0 >= report.yearElapsed ? "good" : "bad" } ?? ""
            html +=
                "<tr><td>\(row.rank.map(String.init) ?? "–")</td><td class=\"name\">\(e(row.name))</td><td>\(number(row.value))</td><td>\(change(row.monthOnMonth, rate: false))</td>"
            html +=
                "<td>\(number(row.yearToDate))</td><td>\(number(row.target))</td><td class=\"\(progressClass)\">\(percent(row.progress))</td><td>\(percent(row.reportingRate))</td></tr>\n"
        }
        html += "</table>\n<div class=\"chart\">"
        html += SVGChart.bars(
            rows: rows.map { (label: $0.name, value: $0.progress ?? 0) },
            reference: (report.yearElapsed, "时间进度 \(percent(report.yearElapsed))"), percent: true,
            title: "各县区年度目标完成进度")
        html += "</div>\n"
        if let drawing = report.countyDrawing {
            // Progress where the counties have targets, else the month's figure.
            let hasProgress = rows.contains { $0.progress != nil }
            var values: [String: Double] = [:]
            // A county none of whose villages reported has no figure to colour.
            for row in rows where (row.reportingRate ?? 0) > 0 {
                if let value = hasProgress ? row.progress : row.value { values[row.unit] = value }
            }
            html += "<div class=\"chart map\">"
            html += SVGChart.choropleth(
                drawing: drawing, values: values, percent: hasProgress,
                title: hasProgress ? "各县区年度目标完成进度分布" : "各县区城镇新增就业人数分布（本月）")
            html += "</div>\n"
        }
        return html + "</section>\n"
    }

    static func moverSection(_ report: MonthlyReport) -> String {
        var html = "<section><h2>三、变动较大的单位（环比）</h2>"
        guard !report.movers.isEmpty else { return html + "<p>本月无明显变动。</p></section>\n" }
        html +=
            "<table><tr><th class=\"name\">单位</th><th class=\"name\">层级</th><th class=\"name\">指标</th><th>上月</th><th>本月</th><th>变动</th></tr>\n"
        for mover in report.movers {
            let good = (mover.indicator.higherIsBetter ?? true) == (mover.change >= 0)
            html +=
                "<tr><td class=\"name\">\(e(mover.name))</td><td class=\"name\">\(mover.tier.chineseName)</td><td class=\"name\">\(e(mover.indicator.chineseName))</td>"
            html +=
                "<td>\(number(mover.before))</td><td>\(number(mover.after))</td><td class=\"\(good ? "good" : "bad")\">\(change(mover.change, rate: false))</td></tr>\n"
        }
        return html + "</table></section>\n"
    }

    static func alertSection(_ report: MonthlyReport) -> String {
        var html = "<section><h2>四、预警</h2>"
        guard !report.alerts.isEmpty else { return html + "<p>当前无触发中的预警。</p></section>\n" }
        let bySeverity = Dictionary(grouping: report.alerts, by: \.severity)
        let names = ["critical": "严重", "warning": "警告", "info": "提示"]
        html +=
            "<p>触发中的预警共 \(report.alerts.count) 条："
            + ["critical", "warning", "info"].compactMap { key in
                bySeverity[key].map { "\(names[key] ?? key) \($0.count) 条" }
            }.joined(separator: "，") + "。</p>"
        let order = ["critical": 0, "warning": 1, "info": 2]
        let shown = report.alerts.sorted { (order[$0.severity] ?? 3, $0.unit) < (order[$1.severity] ?? 3, $1.unit) }
            .prefix(15)
        html += "<table><tr><th class=\"name\">级别</th><th class=\"name\">内容</th><th>起始</th></tr>\n"
        for alert in shown {
            html +=
                "<tr><td class=\"name sev-\(alert.severity)\">\(names[alert.severity] ?? alert.severity)</td><td class=\"name\">\(e(alert.message))</td><td>\(alert.since)</td></tr>\n"
        }
        if report.alerts.count > shown.count {
            html +=
                "<tr><td class=\"name\" colspan=\"3\">另有 \(report.alerts.count - shown.count) 条，见 empmon alerts list --state firing</td></tr>\n"
        }
        return html + "</table></section>\n"
    }

    /// The appendix: how many villages each data-quality signal flagged, by county, and the lowest scores.
    static func qualitySection(_ report: MonthlyReport) -> String {
        guard let quality = report.quality else { return "" }
        var html = "<section><h2>附：数据质量</h2>"
        let flagged = quality.villages.filter { !$0.flags.isEmpty }
        html +=
            "<p>本月已报送村（社区）\(quality.villages.count) 个，其中 \(flagged.count) 个有数据质量问题："
            + QualitySignal.allCases.map { "\($0.chineseName) \(quality.flagged[$0.rawValue] ?? 0) 个" }
            .joined(separator: "，") + "。判定口径见 empmon quality --help；评分满分 100，每项问题扣除相应分值。</p>"
        guard !flagged.isEmpty else { return html + "</section>\n" }
        var byCounty: [String: [VillageQuality]] = [:]
        for village in quality.villages { byCounty[String(village.unit.prefix(6)), default: []].append(village) }
        html += "<table><tr><th class=\"name\">县（区）</th><th>已报送</th><th>有问题</th><th>平均评分</th></tr>\n"
        for county in report.counties.rows {
            let villages = byCounty[String(county.unit.prefix(6))] ?? []
            guard !villages.isEmpty else { continue }
            let mean = Double(villages.reduce(0) { $0 + $1.score }) / Double(villages.count)
            html +=
                "<tr><td class=\"name\">\(e(county.name))</td><td>\(villages.count)</td><td>\(villages.count { !$0.flags.isEmpty })</td><td>\(String(format: "%.1f", mean))</td></tr>\n"
        }
        html += "</table>"
        let lowest = flagged.sorted { ($0.score, $0.unit) < ($1.score, $1.unit) }.prefix(20)
        html += "<table><tr><th>评分</th><th class=\"name\">村（社区）</th><th class=\"name\">问题</th></tr>\n"
        for village in lowest {
            html +=
                "<tr><td>\(village.score)</td><td class=\"name\">\(e(village.name.isEmpty ? village.unit : village.name))（\(village.unit)）</td><td class=\"name\">\(village.flags.map(\.chineseName).joined(separator: "、"))</td></tr>\n"
        }
        if flagged.count > lowest.count {
            html +=
                "<tr><td class=\"name\" colspan=\"3\">另有 \(flagged.count - lowest.count) 个，见 empmon quality --period \(report.period) --flagged</td></tr>\n"
        }
        return html + "</table></section>\n"
    }

    static func forecastSection(_ report: MonthlyReport) -> String {
        var html = "<section><h2>五、城镇新增就业预测</h2>"
        guard let view = report.forecast else { return html + "<p>历史数据不足三个月，暂不预测。</p></section>\n" }
        let periods = view.history.map(\.period) + view.forecast.map(\.period)
        let labels = periods.map { String($0.description.suffix(5)) }
        let start = view.history.count
        let historySeries = SVGChart.Series(
            name: "实际", color: "#23476f", points: view.history.enumerated().map { (x: $0.offset, y: $0.element.value) })
        let forecastSeries = SVGChart.Series(
            name: "预测均值", color: "#c0392b",
            points: [(x: start - 1, y: view.history.last?.value ?? 0)]
                + view.forecast.enumerated().map { (x: start + $0.offset, y: $0.element.mean) },
            dashed: true)
        let band95 = SVGChart.Band(
            color: "#c0392b", opacity: 0.12,
            points: view.forecast.enumerated().map {
                (x: start + $0.offset, low: $0.element.lo95, high: $0.element.hi95)
            })
        let band80 = SVGChart.Band(
            color: "#c0392b", opacity: 0.22,
            points: view.forecast.enumerated().map {
                (x: start + $0.offset, low: $0.element.lo80, high: $0.element.hi80)
            })
        html +=
            "<div class=\"chart\">"
            + SVGChart.lines(
                labels: labels, series: [historySeries, forecastSeries], bands: [band95, band80],
                title: "全市城镇新增就业（人/月）：实际与预测，阴影为 80% 与 95% 预测区间") + "</div>"
        html += "<table><tr><th>月份</th><th>预测均值</th><th>80% 区间</th><th>95% 区间</th></tr>\n"
        for row in view.forecast {
            html +=
                "<tr><td>\(row.period)</td><td>\(number(row.mean))</td><td>\(number(row.lo80)) – \(number(row.hi80))</td><td>\(number(row.lo95)) – \(number(row.hi95))</td></tr>\n"
        }
        html += "</table><p class=\"meta\">模型：\(e(view.model))；来源：\(e(view.source))。</p>"
        if let outlook = view.outlook {
            html +=
                "<p>年末展望：目标 \(number(outlook.target)) 人，已完成 \(number(outlook.achieved)) 人；预计全年 \(number(outlook.expected)) 人（80% 区间 \(number(outlook.lo80)) – \(number(outlook.hi80))），"
            html +=
                "完成目标的概率约 <b class=\"\(outlook.probability >= 0.5 ? "good" : "bad")\">\(percent(outlook.probability))</b>。</p>"
        }
        return html + "</section>\n"
    }

    static func rateSection(_ report: MonthlyReport) -> String {
        guard report.rates.count >= 2 else { return "" }
        let labels = report.rates.map { String($0.period.description.suffix(5)) }
        let unemployment = SVGChart.Series(
            name: "城镇登记失业率", color: "#b03a2e",
            points: report.rates.enumerated().compactMap { index, row in row.unemployment.map { (x: index, y: $0) } })
        let placement = SVGChart.Series(
            name: "失业人员再就业率", color: "#1e7b34",
            points: report.rates.enumerated().compactMap { index, row in row.placement.map { (x: index, y: $0) } })
        return "<section><h2>六、失业率与再就业率走势</h2><div class=\"chart\">"
            + SVGChart.lines(
                labels: labels, series: [unemployment, placement], percent: true, title: "全市城镇登记失业率与失业人员再就业率（近 12 个月）")
            + "</div></section>\n"
    }

    static func e(_ text: String) -> String { SVGChart.escape(text) }

    static func number(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        let rounded = value.rounded()
        if abs(value - rounded) < 1e-9 || abs(value) >= 100 {
            let formatter = NumberFormatter()
            formatter.numberStyle = .decimal
            formatter.maximumFractionDigits = 0
            return formatter.string(from: NSNumber(value: rounded)) ?? String(format: "%.0f", rounded)
        }
        return String(format: "%.1f", value)
    }

    static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return String(format: "%.1f%%", value * 100)
    }

    static func change(_ value: Double?, rate: Bool) -> String {
        guard let value, value.isFinite else { return "–" }
        return rate ? String(format: "%+.1f 个百分点", value * 100) : String(format: "%+.0f", value)
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        formatter.timeZone = ChinaTime.zone
        return formatter.string(from: date) + "（北京时间）"
    }
}
