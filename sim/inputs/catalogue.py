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

Keys are dotted: ``metric.<name>``, ``unit.<unit>``, ``cli.<message>``, ``sheets.<sheet>``, ``columns.<column>``,
``app.<word>`` (the workbench's, `workbench`) and plain chart and workbook words. The Chinese of what the
workbench's controls and levers declare in English sits beside the table (`declared`, `lever_source`). A key
that is not in the table raises KeyError (a typo is a bug, not a blank).
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

# the workbench's words (sim.app): its labels, headings, cards and discovery tab, as ``app.<key>``
_WORKBENCH: dict[str, tuple[str, str]] = {
    "title": (
        "Suining lithium workbench",
        "遂宁锂电产业模拟工作台",
    ),
    "source": (
        "Source: ",
        "来源：",
    ),
    "points": (
        "pp",
        "个百分点",
    ),
    "mode_path": (
        "price path mode",
        "价格路径模式",
    ),
    "mode_market": (
        "market mode",
        "市场出清模式",
    ),
    "against": (
        "Read against the library's '{name}' ({mode}): the baseline of the same price mode, over the same years and "
        "with the same replicate draws.",
        "对比对象：情景库中的“{name}”（{mode}），即同一价格形成方式、同一年份范围、同一组随机抽样的基准情景。",
    ),
    "fiscal_headline": (
        "What it costs the city and what it returns, {first}–{last} in total, against the baseline",
        "城市的投入与回报：{first}–{last}年累计，相对于基准情景",
    ),
    "fiscal_support": (
        "support paid beyond the baseline's",
        "比基准多支付的扶持资金",
    ),
    "fiscal_revenue_gain": (
        "local fiscal revenue gained",
        "增加的地方财政收入",
    ),
    "fiscal_net": (
        "net for the city (revenue gained − support)",
        "城市净收益（增收 − 扶持）",
    ),
    "fiscal_note": (
        "Support: the cash and subsidies the scenario's levers pay to Suining's lithium firms; local fiscal revenue: "
        "the city's share of their taxes. Means over the replicates.",
        "扶持：情景中各项政策向遂宁锂电企业支付的现金与补贴；地方财政收入：企业税收中归属本市的部分。"
        "均为各次模拟的平均值。",
    ),
    "capacity_headline": (
        "Suining's share of the nation's new capacity, {years} pooled: what a neighbour's bid takes away, baseline → "
        "scenario",
        "遂宁占全国新增产能比重（{years}年合计）：邻市竞争带走多少，基准 → 情景",
    ),
    "capacity_note": (
        "Capacity ordered in those years for plants in Suining, over the nation's (a ratio of means over the "
        "replicates). A neighbour's levers are paid from its own budget, not Suining's.",
        "上述年份落户遂宁的新增产能占全国新增产能的比重（各次模拟平均值之比）。邻市政策由该市财政承担，"
        "不计入遂宁支出。",
    ),
    "baseline_label": (
        "baseline",
        "基准",
    ),
    "scenario_label": (
        "scenario",
        "情景",
    ),
    "band": (
        "lines: means; shaded: P5–P95 across replicates",
        "线：平均值；阴影：各次模拟的 P5–P95",
    ),
    "resampled": (
        "How sure: PRIM rerun on {n} bootstrap resamples finds boxes with coverage {coverage} and density {density} "
        "on the draws each left out (median, 5–95%).",
        "可信度：在 {n} 次自助重抽样上重新运行 PRIM，所得区域在未被抽中的情景上的覆盖率为 {coverage}，密度为 "
        "{density}（中位数，5%–95%）。",
    ),
    "dropped": (
        "Restricted by PRIM but not significant (quasi-p value of {alpha:g} or more), so dropped: {names}.",
        "PRIM 曾限制但未通过显著性检验（准 p 值不低于 {alpha:g}），已剔除：{names}。",
    ),
    "net_fiscal": (
        "net for the city (local revenue − support, cumulative)",
        "城市净财政收益（地方收入减扶持，累计）",
    ),
    "language": (
        "中文",
        "English",
    ),
    "start": (
        "Starting scenario",
        "起始情景",
    ),
    "library": (
        "from the library",
        "情景库",
    ),
    "upload": (
        "or upload a scenario file (TOML)",
        "或上传情景文件（TOML）",
    ),
    "upload_button": (
        "Choose a .toml file, or drop it here",
        "选择 .toml 文件，或拖放到此处",
    ),
    "upload_choose": (
        "Choose a file…",
        "选择文件…",
    ),
    "uploaded": (
        "uploaded: {name}",
        "已上传：{name}",
    ),
    "back_to_library": (
        "use the library again",
        "改用情景库",
    ),
    "replicates": (
        "replicates",
        "模拟次数",
    ),
    "run": (
        "Run",
        "运行",
    ),
    "running": (
        "running…",
        "运行中…",
    ),
    "reset": (
        "Reset controls",
        "恢复起始设置",
    ),
    "changed": (
        "{n} control(s) changed from the starting scenario",
        "已修改 {n} 项设置",
    ),
    "unchanged": (
        "the starting scenario as it is",
        "起始情景，未作修改",
    ),
    "stale": (
        "Running the scenario with the controls as they are now…",
        "正在按当前设置运行情景……",
    ),
    "group_run": (
        "Run",
        "运行",
    ),
    "group_price": (
        "Carbonate price",
        "碳酸锂价格",
    ),
    "group_demand": (
        "Demand",
        "需求",
    ),
    "group_projects": (
        "Projects in the pipeline (招商引资)",
        "招商引资项目",
    ),
    "group_neighbours": (
        "Neighbours: a rival city's levers",
        "邻市：周边城市的政策",
    ),
    "range": (
        "range {low} – {high}",
        "范围 {low} – {high}",
    ),
    "tab_results": (
        "Results",
        "结果",
    ),
    "tab_discovery": (
        "Scenario discovery",
        "情景发现",
    ),
    "no_run": (
        "Running the scenario beside the baseline… Move a control and the scenario runs again (runs already made are "
        "reused).",
        "正在与基准情景并列运行……调整任一设置，情景即重新运行（已运行过的结果直接复用）。",
    ),
    "baseline": (
        "baseline",
        "基准",
    ),
    "scenario": (
        "scenario",
        "情景",
    ),
    "headline": (
        "{year}: Suining figures, baseline → scenario",
        "{year}年遂宁主要指标：基准 → 情景",
    ),
    "output_value": (
        "revenue (gross output value)",
        "产值（营收）",
    ),
    "value_added": (
        "value added",
        "增加值",
    ),
    "lfp_share": (
        "share of China's LFP cathode",
        "磷酸铁锂正极占全国比重",
    ),
    "employment": (
        "employment",
        "就业人数",
    ),
    "downloads": (
        "Downloads",
        "下载",
    ),
    "download_zip": (
        "Run directories (zip)",
        "运行结果目录（zip）",
    ),
    "download_xlsx": (
        "Comparison workbook (xlsx)",
        "对比工作簿（xlsx）",
    ),
    "download_toml": (
        "Scenario (TOML)",
        "情景文件（TOML）",
    ),
    "link": (
        "Link to this view",
        "本视图链接",
    ),
    "differences": (
        "Differences from the baseline",
        "与基准情景之差",
    ),
    "years": (
        "years",
        "年份",
    ),
    "scoreboard": (
        "The work report's scoreboard: lithium's part",
        "政府工作报告记分牌：锂电产业的贡献",
    ),
    "charts": (
        "Charts",
        "图表",
    ),
    "col_indicator": (
        "indicator",
        "指标",
    ),
    "col_segment": (
        "segment",
        "环节",
    ),
    "col_unit": (
        "unit",
        "单位",
    ),
    "col_year": (
        "year",
        "年份",
    ),
    "col_baseline": (
        "baseline",
        "基准",
    ),
    "col_scenario": (
        "scenario",
        "情景",
    ),
    "col_band": (
        "scenario P5–P95",
        "情景 P5–P95",
    ),
    "col_diff": (
        "difference",
        "差值",
    ),
    "col_diff_pct": (
        "difference %",
        "差值 %",
    ),
    "error": (
        "Problem",
        "问题",
    ),
    "ignored": (
        "Parts of the link were ignored",
        "链接中部分内容已忽略",
    ),
    "discovery_intro": (
        "Which combinations of the uncertain inputs (carbonate price level and volatility after the history, demand "
        "growth, lever strengths, project completion) make the target hold? Scenarios are drawn with a Latin "
        "hypercube, each is run, and PRIM finds the box of inputs where the target holds and the box where it fails.",
        "哪些不确定因素的组合（历史之后的碳酸锂价格水平与波动、需求增速、政策力度、项目建成）"
        "能使目标实现？以拉丁超立方抽取情景并逐一运行，再用 PRIM 找出目标实现与未实现的输入区域。",
    ),
    "question": (
        "question",
        "问题",
    ),
    "samples": (
        "scenarios drawn",
        "抽取情景数",
    ),
    "disc_replicates": (
        "replicates each",
        "每个情景模拟次数",
    ),
    "asked_of": (
        "asked of the library scenario '{name}'",
        "基于情景库中的“{name}”情景",
    ),
    "use_current": (
        "ask it of the scenario on the left instead",
        "改为基于左侧当前情景",
    ),
    "explore": (
        "Explore",
        "开始发现",
    ),
    "holds_in": (
        "The target holds in {k} of {n} scenarios drawn.",
        "在抽取的 {n} 个情景中，目标在 {k} 个情景中实现。",
    ),
    "where_holds": (
        "Where the target holds",
        "目标实现的区域",
    ),
    "where_fails": (
        "Where the target fails",
        "目标未实现的区域",
    ),
    "never": (
        "It never holds in the sampled ranges (highest {value}): there is no box to find.",
        "在抽样范围内目标从未实现（最高 {value}）：无区域可寻。",
    ),
    "always": (
        "It holds in every scenario drawn: there is no box to find.",
        "目标在所有抽取情景中都实现：无区域可寻。",
    ),
    "stats": (
        "coverage {coverage:.0%} (of the scenarios where it {verb}, the share inside), density {density:.0%} (of the "
        "scenarios inside, the share where it {verb}), {mass} scenarios inside",
        "覆盖率 {coverage:.0%}，密度 {density:.0%}，区域内情景 {mass} 个（目标{verb}）",
    ),
    "holds": (
        "holds",
        "实现",
    ),
    "fails": (
        "fails",
        "未实现",
    ),
    "discovery_note": (
        "The default sample (10 draws per uncertain input) is the least a box should rest on; `lithium-sim explore` "
        "runs larger ones.",
        "默认样本（每个不确定因素10个情景）是得出区域所需的最少样本；更大样本请用 `lithium-sim explore`。",
    ),
}

# Chinese for what the workbench's controls declare in English (their ``reason``), by control key: ``*.from``
# stands for every lever's first year and ``project:*`` for every project's chance (`declared_zh`)
_DECLARED_ZH: dict[str, str] = {
    "end": ("模拟到该年12月；模拟期越短运行越快，情景自身的截止年份为最长"),
    "price_mode": (
        "按情景价格路径：碳酸锂价格沿情景设定的路径及其延续变化；由全球供需出清：价格由全球供给、"
        "库存与需求决定（此时下面的价格水平与波动率不起作用）"
    ),
    "price_level": (
        "历史数据之后碳酸锂（电池级，含税）价格回归的水平：从低于2025年低谷（约6万元/吨）和6–7万元/吨的成本支撑，"
        "到2025年末现货价的两倍；2022年约60万元/吨的高峰视为短期冲高，不作为水平"
    ),
    "price_volatility": ("历史数据之后价格冲击的月度对数标准差：从无波动到约等于2022–2025年的月度波动幅度"),
    "demand_growth": ("历史数据之后全国电池需求增速，按情景增速的倍数：从一半（电动车与储能放缓）到1.5倍（储能爆发）"),
    "*.from": ("该政策开始起作用的年份（1月起）"),
    "project:*": ("已签约项目可能建成也可能不建成：建成概率从零到确定（每次模拟抽取一次）"),
    "tax_relief.vat_refund_share": ("遂宁企业进项留抵税额在每年12月退还的比例"),
    "tax_relief.amount": ("当年向遂宁锂电企业发放的减税降费资金（现金，按厂房设备价值分配）"),
    "energy_support.cost_cut": ("遂宁企业能源成本的降幅（天然气转供改直供约可节省每千瓦时当量约0.6元中的0.05元）"),
    "investment_support.capex_subsidy": ("政府承担的遂宁企业设备投资比例（省市设备补贴目前为3%–8%）"),
    "investment_support.lag_cut_months": ("“标准地”供应、审批就绪后建设周期缩短的月数"),
    "land_efficiency.grade_a": (
        "单位厂房的增加值加税收达到环节全国平均的该倍数即评为A类（四川亩均评价按亩均税收与产出将企业分为A–D类）"
    ),
    "land_efficiency.grade_c": ("低于该倍数评为C类（低于D类门槛为D类）；介于C与A之间为B类"),
    "land_efficiency.grade_d": ("低于该倍数评为D类"),
    "land_efficiency.energy_discount_a": ("A类企业的用能价格优惠（优先保障、较低电价）"),
    "land_efficiency.energy_surcharge_c": ("C类企业的差别化能源价格（浙江做法：每千瓦时约0.6元上加0.05元）"),
    "land_efficiency.energy_surcharge_d": ("D类企业的差别化能源价格（每千瓦时约0.6元上加0.1元）"),
    "land_efficiency.upgrade_cost_share": ("C、D类厂房技改的成本，占其设备投资的比例"),
    "land_efficiency.upgrade_cost_cut": ("技改后加工与能源成本的降幅"),
    "land_efficiency.upgrade_support": ("市政府承担的技改成本比例（技改补助）"),
    "land_efficiency.exit_after_d_years": ("连续评为D类达到该年数且无力技改的厂房退还用地"),
    "hedging.share": ("遂宁碳酸锂产量在广期所碳酸锂合约上卖出套保的比例"),
    "hedging.horizon_months": ("卖出套保到交割之间的月数（广期所合约最长12个月）"),
    "hedging.basis_cost": ("套保吨数支付的交割与品级基差（仓储费、品级贴水）"),
    "hedging.margin_rate": ("持仓须缴纳的交易所保证金比例，按企业利率融资"),
    "innovation.extra_learning_rate": ("遂宁企业加工成本每年额外下降的幅度"),
    "energy_support.city_cost_share": (
        "企业节省的能源费用中由市财政承担的比例：电价或气价补贴为1（企业节省多少、财政付出多少，"
        "约每千瓦时0.03–0.10元）；仅去除转供加价的直供改革接近0（约每千瓦时0.03–0.15元）；为假设值，"
        "默认1以显示全部成本"
    ),
    "innovation.cost_per_point": (
        "每使加工成本年降幅多1个百分点所需的市财政资金（揭榜挂帅奖励、锂电研究院经费），"
        "政策期内按厂房比例拨付给遂宁企业；为假设值，范围0.3–3亿元：每年约5项、"
        "每项143万元的奖励加研究院2000万元（每年约0.27亿元）约可换得四分之一个百分点"
    ),
}
# Chinese for each lever's line of the work report (the English is the lever's ``report``)
_SOURCES_ZH: dict[str, str] = {
    "tax_relief": ("政府工作报告第17行：2023年全市新增减税降费及缓税缓费9.03亿元，留抵退税3.51亿元"),
    "energy_support": ("政府工作报告第125行：天然气转供改直供，500千伏电网工程"),
    "investment_support": ("政府工作报告第81行：增资扩能与“标准地”供应"),
    "land_efficiency": ("政府工作报告第81行：闲置低效用地下降10%以上，亩均产出提高10%以上"),
    "hedging": ("政府工作报告第21、99行：天齐、盛新在遂宁设立碳酸锂期货交割库"),
    "innovation": ("政府工作报告第23行：59个揭榜挂帅项目，锂电研究院联盟"),
}

ENTRIES: dict[str, dict[str, str]] = {
    **{key: dict(zip(LANGUAGES, words, strict=True)) for key, words in _TABLE.items()},
    **{f"metric.{key}": dict(zip(LANGUAGES, words, strict=True)) for key, words in _METRICS.items()},
    **{f"unit.{key}": dict(zip(LANGUAGES, words, strict=True)) for key, words in _UNITS.items()},
    **{f"app.{key}": dict(zip(LANGUAGES, words, strict=True)) for key, words in _WORKBENCH.items()},
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


def workbench(lang: str) -> dict[str, str]:
    """The workbench's words in ``lang`` (the ``app.`` entries), by their keys without the prefix."""
    check(lang)
    return {key: ENTRIES[f"app.{key}"][lang] for key in _WORKBENCH}


def declared(lang: str, key: str, english: str) -> str:
    """What workbench control ``key`` means, in ``lang``: the declaration's own ``english``, or its Chinese here
    (a lever's first year as ``*.from``, a project's chance as ``project:*``); a control declared without a
    Chinese text keeps its English, which the workbench's test of the Chinese page then finds."""
    if check(lang) != "zh":
        return english
    for candidate in (key, "*." + key.rsplit(".", 1)[-1], key.split(":", 1)[0] + ":*"):
        if candidate in _DECLARED_ZH:
            return _DECLARED_ZH[candidate]
    return english


def lever_source(lang: str, lever: str, english: str) -> str:
    """Where lever ``lever`` comes from (its line of the work report), in ``lang``."""
    return _SOURCES_ZH.get(lever, english) if check(lang) == "zh" else english


def missing() -> list[tuple[str, str]]:
    """(key, language) of every entry that lacks a language or is blank in it."""
    return [(key, lang) for key, entry in ENTRIES.items() for lang in LANGUAGES if not entry.get(lang, "").strip()]
