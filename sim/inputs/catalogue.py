"""The message catalogue: every word a reader sees (charts, workbook, command line, workbench), in English and
Chinese side by side, in one table.

One table rather than gettext catalogues: the project has two languages and a few hundred short strings, each
entry keeps its languages on one line (a missing translation shows at a glance, and `missing` lists them for the
tests), and nothing has to be compiled. A third language is a third column in `ENTRIES`. Stage names come from
the chain's declarations (`sim.inputs.chain`) and lever names from the levers' (`sim.inputs.levers`); scenario
names from the scenario files (``name_zh``, `scenario_label`).

API (what charts, the workbook, the command line and the workbench call)::

    from sim.inputs import catalogue as cat

    cat.check(lang)                          # "en" or "zh", else ValueError
    cat.say("zh", "chart.band")             # one message by key: "P5–P95"
    cat.say("en", "cli.run_done", out="results/baseline", ok=20, n=20, wall=2.4, sim=0.6)  # with fields
    cat.metric("zh", "value_added")         # a summary metric's name: "增加值（现价）"
    cat.unit("zh", "t LCE")                 # a unit as written beside a number: "吨 LCE"
    cat.display_unit("zh", "t LCE", 6.3e5)  # (factor, unit) to show values in: (1e-4, "万吨 LCE")
    cat.segment("zh", "battery")            # a stage (from the chain) or "all"
    cat.region("zh", "suining")             # "遂宁"
    cat.cluster("zh", "deyang_aba")         # a cluster's short name for charts and sheets: "德阳-阿坝"
    cat.scenario_label("zh", "baseline", "基准情景")   # the Chinese name where the scenario has one
    cat.words("zh")                         # every entry of a language as a nested dict ("sheets.headline" ->
                                            # words["sheets"]["headline"]), for code that reads tables
    cat.missing()                           # [(key, lang)] of entries lacking a language: the tests keep it empty

Keys are dotted: ``metric.<name>``, ``unit.<unit>``, ``cli.<message>``, ``sheets.<sheet>``, ``columns.<column>``
and plain chart and workbook words. A key that is not in the table raises KeyError (a typo is a bug, not a blank).
"""

from __future__ import annotations

import unicodedata

from sim.inputs.chain import DEFAULT_CHAIN, Chain

LANGUAGES = ("en", "zh")

# key -> (English, Chinese)
_TABLE: dict[str, tuple[str, str]] = {
    # regions and segments
    "suining": ("Suining", "遂宁"),
    "china": ("China", "全国"),
    "world": ("world", "全球"),
    "all": ("all segments", "合计"),
    # chart words
    "year": ("year", "年份"),
    "band": ("P5–P95", "P5–P95"),
    "band_of": ("{name}, P5–P95", "{name}（P5–P95）"),
    "history": ("history (data)", "历史（有数据）"),
    "projection": ("projection", "预测"),
    "report": ("work report, 2023", "政府工作报告，2023年"),
    "scenario": ("scenario", "情景"),
    "difference": ("difference", "差值"),
    "percentage_points": ("percentage points", "百分点"),
    "with_unit": ("{name} ({unit})", "{name}（{unit}）"),
    "output_title": ("Suining output by segment — {scenario}", "遂宁分环节产量 — {scenario}"),
    "va_title": (
        "Suining lithium value added — {scenario}: current prices (left), real growth (right)",
        "遂宁锂电产业增加值 — {scenario}：现价（左）与可比价实际增速（右）",
    ),
    "va_level": ("value added, current prices (亿元)", "增加值，现价（亿元）"),
    "va_growth": ("real growth at comparable prices (%)", "可比价实际增速（%）"),
    "share_title": ("Suining share of national output — {scenario}", "遂宁产量占全国比重 — {scenario}"),
    "share_axis": ("share of China's output (%)", "占全国产量比重（%）"),
    "price_title": ("Prices, excl. VAT — {scenario}", "价格（不含税） — {scenario}"),
    "demand_title": (
        "China: demand, output and capacity by segment — {scenario}",
        "全国分环节需求、产量与产能 — {scenario}",
    ),
    "demand": ("demand", "需求"),
    "output": ("output", "产量"),
    "capacity": ("capacity", "产能"),
    "unmet": ("unmet demand", "未满足需求"),
    "world_title": (
        "World lithium market — {scenario}: supply, demand and stocks",
        "全球锂市场 — {scenario}：供给、需求与库存",
    ),
    "supply": ("supply", "供给"),
    "inventory": ("inventory (end of year)", "库存（年末）"),
    "curtailed": ("curtailed capacity", "减停产产能"),
    "price_incl": ("carbonate price incl. VAT", "碳酸锂价格（含税）"),
    "curve_title": (
        "World lithium cost curve and the carbonate price — {scenario}",
        "全球锂资源成本曲线与碳酸锂价格 — {scenario}",
    ),
    "curve_x": ("cumulative capacity", "累计产能"),
    "curve_y": ("cash cost incl. conversion, excl. VAT", "含转化的现金成本（不含税）"),
    "curve_price": ("price {year}, excl. VAT", "{year}年价格（不含税）"),
    "curve_demand": ("demand {year}", "{year}年需求"),
    "cmp_levels": ("{title}: scenarios (mean, P5–P95 band)", "{title}：各情景（均值，P5–P95 区间）"),
    "cmp_diff": ("{title}: difference from {baseline} (mean, P5–P95)", "{title}：与{baseline}之差（均值，P5–P95）"),
    "cmp_diff_final": (
        "{title}: difference from {baseline} in {year} (mean, P5–P95)",
        "{title}：{year}年与{baseline}之差（均值，P5–P95）",
    ),
    "cmp_output": ("Suining output by segment", "遂宁分环节产量"),
    "cmp_value_added": ("Suining lithium value added (current prices)", "遂宁锂电产业增加值（现价）"),
    "cmp_growth": ("Suining real value-added growth", "遂宁锂电产业增加值实际增速"),
    "cmp_share": ("Suining share of national output", "遂宁产量占全国比重"),
    "cmp_employment": ("Suining lithium employment", "遂宁锂电产业就业人数"),
    "cmp_profit": ("Suining lithium profit", "遂宁锂电产业利润"),
    "cmp_investment": ("Suining lithium fixed-asset investment", "遂宁锂电产业固定资产投资"),
    "cmp_fiscal": (
        "What the city pays and what it gets back: support, local revenue and the net, summed since 2022",
        "城市的投入与回报：政策支持、地方财政收入及净收益（2022年起累计）",
    ),
    "mixed": ("Mixed comparison: {what}", "混合比较：{what}"),
    "mixed_mode": (
        "{scenario} in {mode} mode against a baseline in {base_mode} mode",
        "{scenario}为{mode}模式，基准为{base_mode}模式",
    ),
    "mixed_params": (
        "{scenario} and the baseline use different parameter files",
        "{scenario}与基准使用不同的参数文件",
    ),
    "mixed_history": (
        "{scenario} takes {years} as history, the baseline {base_years}",
        "{scenario}以{years}为历史年份，基准为{base_years}",
    ),
    "mode.path": ("path", "价格路径"),
    "mode.market": ("market", "市场出清"),
    # the rival clusters: short names for charts and sheets where the data's name is long (clusters.csv)
    "cluster_name.deyang_aba": ("Deyang-Aba", "德阳-阿坝"),
    "cluster_name.rest_of_china": ("rest of China", "全国其他"),
    "flow_title": (
        "Where new capacity went: capacity ordered by cluster and segment — {scenario}",
        "新增产能流向：分集群、分环节的当年新增产能订单 — {scenario}",
    ),
    "flow_note": (
        "mean over replicates; a cluster's capacity stacked on the others', the bar the nation's",
        "各次模拟均值；各集群叠加，柱高即全国合计",
    ),
    "cluster_shares_title": (
        "Each cluster's share of national output by segment — {scenario}",
        "各集群分环节产量占全国比重 — {scenario}",
    ),
    "cluster_shares_note": (
        "mean with P5–P95 band; the rest of China holds the remainder to 100%",
        "均值与P5–P95区间；其余份额属全国其他地区",
    ),
    "win_title": (
        "Suining's share of China's new capacity ordered, by year — {scenario}",
        "遂宁占全国当年新增产能订单的比重 — {scenario}",
    ),
    "win_note": (
        "bars: mean with P5–P95 of replicates; dashed: {years} pooled (Suining's mean new capacity summed, over the "
        "nation's); dotted: Suining's share of national output",
        "柱：各次模拟均值与P5–P95；虚线：{years}年合计（遂宁新增产能均值之和占全国之比）；点线：遂宁产量占全国比重",
    ),
    "win_pooled": ("{years} pooled", "{years}年合计"),
    "win_share": ("share of new capacity (mean)", "占新增产能比重（均值）"),
    "win_panel": ("{segment} — {years} pooled: {share:.1f}%", "{segment} — {years}年合计：{share:.1f}%"),
    "win_output": ("share of national output", "产量占全国比重"),
    "win_axis": ("share of China's new capacity (%)", "占全国新增产能比重（%）"),
    "cluster_axis": ("cluster", "集群"),
    "cmp_clusters_title": (
        "Rival clusters by scenario: Suining's share of the nation's new capacity, and where the nation's new "
        "capacity {years} went",
        "分情景的集群竞争：遂宁占全国新增产能比重，及{years}年全国新增产能流向",
    ),
    "cmp_clusters_note": (
        "above: mean with P5–P95 band, in the legend the share pooled over {years}; below: the years' means summed",
        "上：均值与P5–P95区间，图例为{years}年合计比重；下：各年均值之和",
    ),
    "cluster_indicator": ("{cluster}: {metric} — {segment}", "{cluster}：{metric} — {segment}"),
    "named_share": ("{name}: {share:.1f}%", "{name}：{share:.1f}%"),
    "cmp_win_panel": ("{segment}: Suining's share of new capacity", "{segment}：遂宁占全国新增产能比重"),
    "cmp_flow_panel": (
        "{segment}: new capacity {years} by cluster, difference from {baseline}",
        "{segment}：{years}年分集群新增产能与{baseline}之差",
    ),
    "cmp_flow_level": ("{segment}: new capacity {years} by cluster", "{segment}：{years}年分集群新增产能"),
    # the report's scoreboard
    "score_title": (
        "The work report's scoreboard — {scenario}: what lithium adds (percentage points)",
        "政府工作报告记分牌 — {scenario}：锂电产业的拉动（百分点）",
    ),
    "score_cmp_title": (
        "The work report's scoreboard by scenario: lithium's contribution (percentage points, mean and P5–P95)",
        "政府工作报告记分牌（分情景）：锂电产业的拉动（百分点，均值与P5–P95）",
    ),
    "score_gdp": ("GDP growth", "地区生产总值增长"),
    "score_fai": ("fixed-asset investment growth", "固定资产投资增长"),
    "score_revenue": ("local budget revenue growth", "地方一般公共预算收入增长"),
    "score_share": ("lithium value added, share of city GDP (%)", "锂电增加值占全市GDP比重（%）"),
    "contribution": ("lithium's contribution (points)", "锂电拉动（百分点）"),
    "record": ("city record", "全市实际"),
    "target": ("report target", "报告目标"),
    "city_growth": ("city growth (record, then projection)", "全市增速（实际与预测）"),
    "indicators.gdp_growth": ("GDP growth (%)", "地区生产总值增速（%）"),
    "indicators.fai_growth": ("fixed-asset investment growth (%)", "固定资产投资增速（%）"),
    "indicators.revenue_growth": ("local budget revenue growth (%)", "地方一般公共预算收入增速（%）"),
    "indicators.projects_signed": ("projects signed over 1 亿", "签约亿元以上项目（个）"),
    "indicators.net_fiscal": ("the city's cost and return (亿元, since 2022)", "城市投入与回报（亿元，2022年起累计）"),
    "score_columns.scenario": ("Scenario", "情景"),
    "score_columns.year": ("Year", "年份"),
    "score_columns.indicator": ("Indicator", "指标"),
    "score_columns.target": ("Report target", "报告目标"),
    "score_columns.city_record": ("City record", "全市实际"),
    "score_columns.lithium_metric": ("Lithium figure", "锂电指标"),
    "score_columns.lithium_value": ("Lithium value (mean)", "锂电数值（均值）"),
    "score_columns.lithium_p05": ("Lithium value P5", "锂电数值P5"),
    "score_columns.lithium_p95": ("Lithium value P95", "锂电数值P95"),
    "score_columns.lithium_unit": ("Unit", "单位"),
    "score_columns.contribution_mean": ("Lithium contribution (points, mean)", "锂电拉动（百分点，均值）"),
    "score_columns.contribution_p05": ("Contribution P5", "拉动P5"),
    "score_columns.contribution_p95": ("Contribution P95", "拉动P95"),
    # the workbook
    "sheets.headline": ("Headline", "主要指标"),
    "sheets.difference": ("Difference", "与基准差值"),
    "sheets.comparison": ("Comparison", "完整对比表"),
    "sheets.scoreboard": ("Scoreboard", "记分牌"),
    "sheets.assumptions": ("Assumptions", "假设与来源"),
    "sheets.clusters": ("Clusters", "产业集群"),
    "clusters_title": (
        "Rival clusters by scenario, segment and year: share of national output, new capacity ordered and share of "
        "the nation's new capacity (mean over replicates with P5–P95)",
        "分情景、分环节、分年度的集群竞争：产量占全国比重、当年新增产能订单及占全国新增产能比重（各次模拟均值及P5–P95）",
    ),
    "headline_title": (
        "Suining lithium industry by scenario and year: mean over replicates with P5–P95",
        "遂宁锂电产业分情景、分年度主要指标（各次模拟均值及P5–P95）",
    ),
    "difference_title": (
        "Suining lithium industry: difference from the baseline '{baseline}' (mean over replicates with P5–P95)",
        "遂宁锂电产业：与基准“{baseline}”之差（各次模拟均值及P5–P95）",
    ),
    "assumptions_title": (
        "What was compared: scenarios, seeds, replicates, price mode, parameter file and code version (from each "
        "run's meta.json)",
        "比较内容：情景、随机种子、模拟次数、价格模式、参数文件与代码版本（取自各次运行的 meta.json）",
    ),
    "indicator": ("indicator", "指标"),
    "statistic": ("statistic", "统计量"),
    "stat.mean": ("mean", "均值"),
    "stat.p05": ("P5", "P5"),
    "stat.p95": ("P95", "P95"),
    "columns.scenario": ("Scenario", "情景"),
    "columns.scenario_name": ("Scenario name", "情景名称"),
    "columns.year": ("Year", "年份"),
    "columns.region": ("Region", "地区"),
    "columns.segment": ("Segment", "环节"),
    "columns.metric": ("Metric", "指标"),
    "columns.unit": ("Unit", "单位"),
    "columns.mean": ("Mean", "均值"),
    "columns.p05": ("P5", "P5"),
    "columns.p50": ("P50 (median)", "P50（中位数）"),
    "columns.p95": ("P95", "P95"),
    "columns.diff_mean": ("Difference from baseline (mean, in the row's unit)", "与基准差值（均值，单位同本行）"),
    "columns.diff_pct": ("Difference from baseline (% of baseline mean)", "与基准差值（占基准均值的%）"),
    "columns.diff_p05": ("Difference from baseline, P5", "与基准差值P5"),
    "columns.diff_p95": ("Difference from baseline, P95", "与基准差值P95"),
    "assume.item": ("Item", "项目"),
    "assume.role": ("role", "角色"),
    "assume.baseline": ("baseline", "基准"),
    "assume.compared": ("compared with the baseline", "与基准比较"),
    "assume.name": ("scenario (key)", "情景（标识）"),
    "assume.name_en": ("name", "名称（英文）"),
    "assume.name_zh": ("name in Chinese", "名称（中文）"),
    "assume.description_en": ("description", "说明（英文）"),
    "assume.description_zh": ("description in Chinese", "说明（中文）"),
    "assume.price_mode": ("carbonate price mode", "碳酸锂价格模式"),
    "assume.seed": ("master seed", "主随机种子"),
    "assume.replicates": ("replicates", "模拟次数"),
    "assume.replicates_ok": ("replicates finished", "完成的模拟次数"),
    "assume.history_years": ("history years (data)", "历史年份（有数据）"),
    "assume.parameter_file": ("parameter file", "参数文件"),
    "assume.parameter_file_sha256": ("parameter file SHA-256", "参数文件 SHA-256"),
    "assume.scenario_file": ("scenario file", "情景文件"),
    "assume.scenario_sha256": ("scenario file SHA-256", "情景文件 SHA-256"),
    "assume.version": ("code version", "代码版本"),
    "assume.finished": ("finished (UTC)", "完成时间（UTC）"),
    "assume.mixed": ("mixed comparison", "混合比较"),
    "assume.none": ("(none)", "（无）"),
    # the city's cost and return (the headline a workbench shows)
    "fiscal.support": ("support paid", "支付的政策支持"),
    "fiscal.revenue": ("local revenue", "地方财政收入"),
    "fiscal.net": ("net for the city", "城市净收益"),
    # the command line
    "cli.run_done": (
        "wrote {out}/ ({ok}/{n} replicates{resumed}; {wall:.1f} s in all, {sim:.1f} s of it simulating)",
        "已写入 {out}/（完成 {ok}/{n} 次模拟{resumed}；共用时 {wall:.1f} 秒，其中模拟 {sim:.1f} 秒）",
    ),
    "cli.resumed": (", {count} resumed", "，其中 {count} 次为续算"),
    "cli.compare_done": (
        "wrote {out}/ (comparison.csv, comparison.xlsx, charts/): {others} compared with the first run given, "
        "{baseline} ({wall:.1f} s)",
        "已写入 {out}/（comparison.csv、comparison.xlsx、charts/）：{others} 与基准（第一个运行）“{baseline}”比较"
        "（用时 {wall:.1f} 秒）",
    ),
    "cli.compare_alone": (
        "wrote {out}/ (comparison.csv, comparison.xlsx, charts/): {baseline} alone, no other scenario ({wall:.1f} s)",
        "已写入 {out}/（comparison.csv、comparison.xlsx、charts/）：仅{baseline}一个情景（用时 {wall:.1f} 秒）",
    ),
    "cli.mixed": (
        "warning: {what}; every chart title and sheet says so",
        "注意：{what}；每张图的标题和每个工作表均已注明",
    ),
    "cli.noise": (
        "warning: {scenario} and the baseline {baseline} have different {what} ({value} and {base_value}): their "
        "differences mix the scenarios' effects with sampling noise",
        "注意：{scenario}与基准{baseline}的{what}不同（{value} 与 {base_value}）：其差值混杂了情景效果与抽样误差",
    ),
    "cli.what.replicates": ("replicate counts", "模拟次数"),
    "cli.what.seed": ("master seeds", "主随机种子"),
    "cli.list_sep": (", ", "、"),
    # progress bars: tqdm writes ": " after the label and "/s" after the unit
    "cli.bar_run": ("{scenario}: replicates", "{scenario}（模拟）"),
    "cli.bar_run_unit": ("rep", "次"),
    "cli.bar_explore": ("explore: scenarios", "情景发现（情景）"),
    "cli.bar_explore_unit": ("scn", "个"),
    # lithium-sim explore's report on the console
    "explore.count": (
        "{question}: holds in {holds} of {total} scenarios drawn",
        "{question}：在{total}个抽样情景中有{holds}个成立",
    ),
    "explore.box_holds": (
        "  holds: {box} (coverage {coverage}, density {density}; on draws left out of {resamples} resamples: "
        "coverage {coverage_oob}, density {density_oob})",
        "  成立区域：{box}（覆盖率 {coverage}，密度 {density}；{resamples}次重抽样的袋外样本上：覆盖率 {coverage_oob}，"
        "密度 {density_oob}）",
    ),
    "explore.box_fails": (
        "  fails: {box} (coverage {coverage}, density {density}; on draws left out of {resamples} resamples: "
        "coverage {coverage_oob}, density {density_oob})",
        "  不成立区域：{box}（覆盖率 {coverage}，密度 {density}；{resamples}次重抽样的袋外样本上："
        "覆盖率 {coverage_oob}，密度 {density_oob}）",
    ),
    "explore.dropped": ("    not significant, dropped: {names}", "    不显著、已剔除：{names}"),
    "explore.warning": ("warning: {text}", "注意：{text}"),
    "explore.wrote": (
        "wrote {out}/ (SUMMARY.md, samples.csv, holds/, fails/; {seconds:.0f} s)",
        "已写入 {out}/（SUMMARY.md、samples.csv、holds/、fails/；用时 {seconds:.0f} 秒）",
    ),
    # scenarios/run_library.py
    "library.wrote": ("comparison with {baseline} written to {out}/", "与{baseline}的比较已写入 {out}/"),
    "library.against": (
        "against {baseline} ({year}; mean, [P5, P95] over replicates):",
        "相对于{baseline}（{year}年；各次模拟的均值与[P5, P95]）：",
    ),
    "library.col_va": ("value added, 亿元", "增加值（亿元）"),
    "library.col_share": ("GDP share %", "占GDP比重%"),
    "library.col_net": ("net for the city, 亿元", "城市净收益（亿元）"),
    "library.note": (
        "(in brackets after a value: the difference from the scenario's own baseline; the net for the city is\n"
        " the local fiscal revenue from lithium since 2022 less the support paid to lithium firms)",
        "（数值后括号内：与该情景同一价格模式基准之差；城市净收益：2022年以来锂电产业带来的地方财政收入减去"
        "向锂电企业支付的扶持）",
    ),
    "explore.failed": (
        "{n} scenario(s) failed; their errors are in {out}/explore.json",
        "{n}个情景运行失败；错误信息见 {out}/explore.json",
    ),
}

# metric -> (English, Chinese)
_METRICS: dict[str, tuple[str, str]] = {
    "output": ("output", "产量"),
    "capacity": ("capacity", "产能"),
    "utilization": ("capacity utilisation", "产能利用率"),
    "price": ("price", "价格"),
    "national_share": ("share of national output", "占全国产量比重"),
    "output_value": ("gross output value (产值)", "产值（现价）"),
    "intermediate": ("intermediate consumption", "中间投入"),
    "value_added": ("value added, current prices", "增加值（现价）"),
    "value_added_real": (
        "value added at comparable prices (chained, 2022 = reference)",
        "增加值（可比价，链式，2022年为参照）",
    ),
    "value_added_fixed_2022": ("value added at fixed 2022 prices", "增加值（2022年不变价）"),
    "value_added_real_growth": ("real value-added growth (comparable prices)", "增加值实际增速（可比价）"),
    "wages": ("wages", "工资"),
    "profit": ("profit", "利润"),
    "taxes": ("taxes", "税收"),
    "support": ("policy support paid", "政策支持支出"),
    "support_cumulative": ("policy support paid since 2022", "政策支持支出（2022年起累计）"),
    "local_fiscal_revenue": ("local fiscal revenue", "地方财政收入"),
    "local_fiscal_revenue_cumulative": ("local fiscal revenue since 2022", "地方财政收入（2022年起累计）"),
    "net_fiscal": (
        "net for the city: local revenue less support, since 2022",
        "城市净收益：地方财政收入减政策支持（2022年起累计）",
    ),
    "employment": ("employment", "就业人数"),
    "firms": ("firms", "企业数"),
    "fixed_asset_investment": ("fixed-asset investment", "固定资产投资"),
    "demand": ("demand", "需求"),
    "unmet_demand": ("unmet demand", "未满足需求"),
    "gross_margin": ("gross margin", "毛利率"),
    "gross_margin_leaders": ("gross margin, leaders", "毛利率（头部企业）"),
    "gross_margin_second": ("gross margin, second tier", "毛利率（二线企业）"),
    "gross_margin_tail": ("gross margin, tail", "毛利率（尾部企业）"),
    "supply": ("supply", "供给"),
    "inventory": ("inventory", "库存"),
    "curtailed_capacity": ("curtailed capacity", "减停产产能"),
    "production": ("production (mines, brine, recycling)", "产量（矿山、盐湖、回收）"),
    "supply_capacity": ("supply capacity", "供给产能"),
    "supply_utilization": ("supply utilisation", "供给产能利用率"),
    "gdp_share": ("share of city GDP", "占全市GDP比重"),
    "gdp_growth_contribution": ("contribution to city GDP growth", "对全市GDP增长的拉动"),
    "fai_growth_contribution": ("contribution to city investment growth", "对全市固定资产投资增长的拉动"),
    "revenue_growth_contribution": ("contribution to city revenue growth", "对全市一般公共预算收入增长的拉动"),
    "city_gdp_growth": ("city real GDP growth (record, then projection)", "全市GDP实际增速（实际值与预测）"),
    "pipeline_projects": ("lithium projects in the pipeline", "在建锂电招商项目"),
    "new_capacity": ("new capacity ordered", "新增产能（当年订单）"),
    "new_capacity_share": ("share of the nation's new capacity", "占全国新增产能比重"),
    "loss_months": ("plant-months of negative operating cash flow", "经营现金流为负的工厂月数"),
    "output_share_leaders": ("share of national output, leaders", "占全国产量比重（头部企业）"),
    "output_share_second": ("share of national output, second tier", "占全国产量比重（二线企业）"),
    "output_share_tail": ("share of national output, tail", "占全国产量比重（尾部企业）"),
    "imports": ("served from stocks and trade at the scenario's price", "按情景价格由库存与贸易满足的需求"),
    "supply_gap": ("supply short of demand at the scenario's price", "情景价格下的供给缺口"),
}

# unit as the summary writes it -> (English, Chinese) as written beside a number
_UNITS: dict[str, tuple[str, str]] = {
    "t LCE": ("t LCE", "吨 LCE"),
    "t": ("t", "吨"),
    "GWh": ("GWh", "GWh"),
    "persons": ("persons", "人"),
    "firms": ("firms", "家"),
    "projects": ("projects", "个"),
    "share": ("share (0–1)", "比例（0–1）"),
    "%": ("%", "%"),
    "亿元": ("亿元", "亿元"),
    "亿元 (2022 prices)": ("亿元, 2022 prices", "亿元，2022年价格"),
    "亿元 (2022 prices, chained)": ("亿元, comparable prices (2022 reference)", "亿元，可比价（2022年为参照）"),
    "yuan/t LCE excl. VAT": ("yuan/t LCE excl. VAT", "元/吨 LCE（不含税）"),
    "yuan/t excl. VAT": ("yuan/t excl. VAT", "元/吨（不含税）"),
    "yuan/Wh excl. VAT": ("yuan/Wh excl. VAT", "元/Wh（不含税）"),
    "yuan/t LCE incl. VAT": ("yuan/t LCE incl. VAT", "元/吨 LCE（含税）"),
    "t LCE/yr": ("t LCE/yr", "吨 LCE/年"),
    "t/yr": ("t/yr", "吨/年"),
    "GWh/yr": ("GWh/yr", "GWh/年"),
    "percentage points": ("percentage points", "百分点"),
    "plant-months": ("plant-months", "厂·月"),
}

# how tonnes and yuan are shown: (factor, English unit, Chinese unit); English picks kt or Mt by size
_TONNES = {"t LCE": "LCE", "t": ""}
_PRICES = {
    "yuan/t LCE excl. VAT": ("1,000 yuan/t LCE excl. VAT", "万元/吨 LCE（不含税）"),
    "yuan/t excl. VAT": ("1,000 yuan/t excl. VAT", "万元/吨（不含税）"),
    "yuan/t LCE incl. VAT": ("1,000 yuan/t LCE incl. VAT", "万元/吨 LCE（含税）"),
}

ENTRIES: dict[str, dict[str, str]] = {
    **{key: dict(zip(LANGUAGES, words, strict=True)) for key, words in _TABLE.items()},
    **{f"metric.{key}": dict(zip(LANGUAGES, words, strict=True)) for key, words in _METRICS.items()},
    **{f"unit.{key}": dict(zip(LANGUAGES, words, strict=True)) for key, words in _UNITS.items()},
}


def check(lang: str) -> str:
    """``lang`` if it is one of `LANGUAGES`, else ValueError."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    return lang


def say(lang: str, key: str, **fields: object) -> str:
    """The message ``key`` in ``lang``, its ``{fields}`` filled in."""
    text = ENTRIES[key][check(lang)]
    return text.format(**fields) if fields else text


def metric(lang: str, name: str) -> str:
    """A summary metric's name (unknown metrics: the key with spaces, so nothing is blank)."""
    entry = ENTRIES.get(f"metric.{name}")
    return entry[check(lang)] if entry else name.replace("_", " ")


def unit(lang: str, name: str) -> str:
    """A unit as written beside a number."""
    entry = ENTRIES.get(f"unit.{name}")
    return entry[check(lang)] if entry else name


def display_unit(lang: str, name: str, magnitude: float = 0.0) -> tuple[float, str]:
    """How to show values in ``name``: multiply by the factor and write the unit returned.

    Chinese readers count tonnes in 万吨 and prices in 万元/吨; English readers in kt or Mt (chosen by
    ``magnitude``, the largest absolute value shown) and in 1,000 yuan/t. Other units are shown as they are.
    """
    check(lang)
    per_year = name.endswith("/yr")
    base = name.removesuffix("/yr")
    if base in _TONNES:
        suffix = f" {_TONNES[base]}" if _TONNES[base] else ""
        if lang == "zh":
            return 1e-4, f"万吨{suffix}{'/年' if per_year else ''}"
        factor, word = (1e-6, "Mt") if abs(magnitude) >= 1e6 else (1e-3, "kt")
        return factor, f"{word}{suffix}{'/yr' if per_year else ''}"
    if name in _PRICES:
        return 1e-3 if lang == "en" else 1e-4, _PRICES[name][0 if lang == "en" else 1]
    return 1.0, unit(lang, name)


def segment(lang: str, key: str, chain: Chain = DEFAULT_CHAIN) -> str:
    """A stage's label from its declaration; ``all`` from the table."""
    if key in chain:
        return chain[key].label(check(lang))
    entry = ENTRIES.get(key)
    return entry[check(lang)] if entry else key


def region(lang: str, key: str) -> str:
    """A region's name: the nation and the world from the table, a cluster from its data (clusters.csv)."""
    entry = ENTRIES.get(key)
    if entry:
        return entry[check(lang)]
    from sim.inputs.clusters import default_clusters

    clusters = default_clusters()
    return clusters[key].label(check(lang)) if key in clusters.keys else key


def cluster(lang: str, key: str) -> str:
    """A cluster's short name, for charts and sheets: from the table where the data's name is long, else the
    region's name from its data (`region`)."""
    entry = ENTRIES.get(f"cluster_name.{key}")
    return entry[check(lang)] if entry else region(lang, key)


def stage_unit(lang: str, key: str, chain: Chain = DEFAULT_CHAIN) -> str:
    """The unit of a stage's output, as written beside a number."""
    return unit(lang, chain[key].unit)


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: a Chinese character two, anything else one."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def scenario_label(lang: str, name: str, name_zh: str | None = None) -> str:
    """How a scenario is named to a reader: its Chinese name in Chinese where it has one, else its key."""
    return name_zh if check(lang) == "zh" and name_zh else name


def words(lang: str) -> dict:
    """Every entry of a language as a nested dict (``"sheets.headline"`` -> ``words["sheets"]["headline"]``)."""
    check(lang)
    out: dict = {}
    for key, entry in ENTRIES.items():
        node = out
        *parents, leaf = key.split(".", 1) if key.startswith(("metric.", "unit.")) else key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = entry[lang]
    return out


def missing() -> list[tuple[str, str]]:
    """(key, language) of every entry that lacks a language or is blank in it."""
    return [(key, lang) for key, entry in ENTRIES.items() for lang in LANGUAGES if not entry.get(lang, "").strip()]
