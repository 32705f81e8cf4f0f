"""The workbench's own words in English and Chinese (labels of metrics, segments, units and levers come from
their declarations and `sim.outputs.labels`). A second language is a table here, not new code."""

from __future__ import annotations

WORDS = {
    "en": {
        "title": "Suining lithium workbench",
        "source": "Source: ",
        "points": "pp",
        "mode_path": "price path mode",
        "mode_market": "market mode",
        "against": "Read against the library's '{name}' ({mode}): the baseline of the same price mode, over the same "
        "years and with the same replicate draws.",
        "fiscal_headline": "What it costs the city and what it returns, {first}–{last} in total, against the baseline",
        "fiscal_support": "support paid beyond the baseline's",
        "fiscal_revenue_gain": "local fiscal revenue gained",
        "fiscal_net": "net for the city (revenue gained − support)",
        "fiscal_note": "Support: the cash and subsidies the scenario's levers pay to Suining's lithium firms; local "
        "fiscal revenue: the city's share of their taxes. Means over the replicates.",
        "capacity_headline": "Suining's share of the nation's new capacity, {years} pooled: what a neighbour's bid "
        "takes away, baseline → scenario",
        "capacity_note": "Capacity ordered in those years for plants in Suining, over the nation's (a ratio of means "
        "over the replicates). A neighbour's levers are paid from its own budget, not Suining's.",
        "baseline_label": "baseline",
        "scenario_label": "scenario",
        "band": "lines: means; shaded: P5–P95 across replicates",
        "resampled": "How sure: PRIM rerun on {n} bootstrap resamples finds boxes with coverage {coverage} and density "
        "{density} on the draws each left out (median, 5–95%).",
        "dropped": "Restricted by PRIM but not significant (quasi-p value of {alpha:g} or more), so dropped: {names}.",
        "net_fiscal": "net for the city (local revenue − support, cumulative)",
        "language": "中文",
        "start": "Starting scenario",
        "library": "from the library",
        "upload": "or upload a scenario file (TOML)",
        "upload_button": "Choose a .toml file, or drop it here",
        "upload_choose": "Choose a file…",
        "uploaded": "uploaded: {name}",
        "back_to_library": "use the library again",
        "replicates": "replicates",
        "run": "Run",
        "running": "running…",
        "reset": "Reset controls",
        "changed": "{n} control(s) changed from the starting scenario",
        "unchanged": "the starting scenario as it is",
        "stale": "Running the scenario with the controls as they are now…",
        "group_run": "Run",
        "group_price": "Carbonate price",
        "group_demand": "Demand",
        "group_projects": "Projects in the pipeline (招商引资)",
        "group_neighbours": "Neighbours: a rival city's levers",
        "range": "range {low} – {high}",
        "tab_results": "Results",
        "tab_discovery": "Scenario discovery",
        "no_run": "Running the scenario beside the baseline… Move a control and the scenario runs again (runs "
        "already made are reused).",
        "baseline": "baseline",
        "scenario": "scenario",
        "headline": "{year}: Suining figures, baseline → scenario",
        "output_value": "revenue (gross output value)",
        "value_added": "value added",
        "lfp_share": "share of China's LFP cathode",
        "employment": "employment",
        "downloads": "Downloads",
        "download_zip": "Run directories (zip)",
        "download_xlsx": "Comparison workbook (xlsx)",
        "download_toml": "Scenario (TOML)",
        "link": "Link to this view",
        "differences": "Differences from the baseline",
        "years": "years",
        "scoreboard": "The work report's scoreboard: lithium's part",
        "charts": "Charts",
        "col_indicator": "indicator",
        "col_segment": "segment",
        "col_unit": "unit",
        "col_year": "year",
        "col_baseline": "baseline",
        "col_scenario": "scenario",
        "col_band": "scenario P5–P95",
        "col_diff": "difference",
        "col_diff_pct": "difference %",
        "error": "Problem",
        "ignored": "Parts of the link were ignored",
        "discovery_intro": "Which combinations of the uncertain inputs (carbonate price level and volatility after "
        "the history, demand growth, lever strengths, project completion) make the target hold? Scenarios are "
        "drawn with a Latin hypercube, each is run, and PRIM finds the box of inputs where the target holds and "
        "the box where it fails.",
        "question": "question",
        "samples": "scenarios drawn",
        "disc_replicates": "replicates each",
        "asked_of": "asked of the library scenario '{name}'",
        "use_current": "ask it of the scenario on the left instead",
        "explore": "Explore",
        "holds_in": "The target holds in {k} of {n} scenarios drawn.",
        "where_holds": "Where the target holds",
        "where_fails": "Where the target fails",
        "never": "It never holds in the sampled ranges (highest {value}): there is no box to find.",
        "always": "It holds in every scenario drawn: there is no box to find.",
        "stats": "coverage {coverage:.0%} (of the scenarios where it {verb}, the share inside), density "
        "{density:.0%} (of the scenarios inside, the share where it {verb}), {mass} scenarios inside",
        "holds": "holds",
        "fails": "fails",
        "discovery_note": "The default sample (10 draws per uncertain input) is the least a box should rest on; "
        "`lithium-sim explore` runs larger ones.",
    },
    "zh": {
        "title": "遂宁锂电产业模拟工作台",
        "source": "来源：",
        "points": "个百分点",
        "mode_path": "价格路径模式",
        "mode_market": "市场出清模式",
        "against": "对比对象：情景库中的“{name}”（{mode}），即同一价格形成方式、同一年份范围、"
        "同一组随机抽样的基准情景。",
        "fiscal_headline": "城市的投入与回报：{first}–{last}年累计，相对于基准情景",
        "fiscal_support": "比基准多支付的扶持资金",
        "fiscal_revenue_gain": "增加的地方财政收入",
        "fiscal_net": "城市净收益（增收 − 扶持）",
        "fiscal_note": "扶持：情景中各项政策向遂宁锂电企业支付的现金与补贴；地方财政收入：企业税收中归属本市的部分。"
        "均为各次模拟的平均值。",
        "capacity_headline": "遂宁占全国新增产能比重（{years}年合计）：邻市竞争带走多少，基准 → 情景",
        "capacity_note": "上述年份落户遂宁的新增产能占全国新增产能的比重（各次模拟平均值之比）。"
        "邻市政策由该市财政承担，不计入遂宁支出。",
        "baseline_label": "基准",
        "scenario_label": "情景",
        "band": "线：平均值；阴影：各次模拟的 P5–P95",
        "resampled": "可信度：在 {n} 次自助重抽样上重新运行 PRIM，所得区域在未被抽中的情景上的覆盖率为 {coverage}，"
        "密度为 {density}（中位数，5%–95%）。",
        "dropped": "PRIM 曾限制但未通过显著性检验（准 p 值不低于 {alpha:g}），已剔除：{names}。",
        "net_fiscal": "城市净财政收益（地方收入减扶持，累计）",
        "language": "English",
        "start": "起始情景",
        "library": "情景库",
        "upload": "或上传情景文件（TOML）",
        "upload_button": "选择 .toml 文件，或拖放到此处",
        "upload_choose": "选择文件…",
        "uploaded": "已上传：{name}",
        "back_to_library": "改用情景库",
        "replicates": "模拟次数",
        "run": "运行",
        "running": "运行中…",
        "reset": "恢复起始设置",
        "changed": "已修改 {n} 项设置",
        "unchanged": "起始情景，未作修改",
        "stale": "正在按当前设置运行情景……",
        "group_run": "运行",
        "group_price": "碳酸锂价格",
        "group_demand": "需求",
        "group_projects": "招商引资项目",
        "group_neighbours": "邻市：周边城市的政策",
        "range": "范围 {low} – {high}",
        "tab_results": "结果",
        "tab_discovery": "情景发现",
        "no_run": "正在与基准情景并列运行……调整任一设置，情景即重新运行（已运行过的结果直接复用）。",
        "baseline": "基准",
        "scenario": "情景",
        "headline": "{year}年遂宁主要指标：基准 → 情景",
        "output_value": "产值（营收）",
        "value_added": "增加值",
        "lfp_share": "磷酸铁锂正极占全国比重",
        "employment": "就业人数",
        "downloads": "下载",
        "download_zip": "运行结果目录（zip）",
        "download_xlsx": "对比工作簿（xlsx）",
        "download_toml": "情景文件（TOML）",
        "link": "本视图链接",
        "differences": "与基准情景之差",
        "years": "年份",
        "scoreboard": "政府工作报告记分牌：锂电产业的贡献",
        "charts": "图表",
        "col_indicator": "指标",
        "col_segment": "环节",
        "col_unit": "单位",
        "col_year": "年份",
        "col_baseline": "基准",
        "col_scenario": "情景",
        "col_band": "情景 P5–P95",
        "col_diff": "差值",
        "col_diff_pct": "差值 %",
        "error": "问题",
        "ignored": "链接中部分内容已忽略",
        "discovery_intro": "哪些不确定因素的组合（历史之后的碳酸锂价格水平与波动、需求增速、政策力度、项目建成）"
        "能使目标实现？以拉丁超立方抽取情景并逐一运行，再用 PRIM 找出目标实现与未实现的输入区域。",
        "question": "问题",
        "samples": "抽取情景数",
        "disc_replicates": "每个情景模拟次数",
        "asked_of": "基于情景库中的“{name}”情景",
        "use_current": "改为基于左侧当前情景",
        "explore": "开始发现",
        "holds_in": "在抽取的 {n} 个情景中，目标在 {k} 个情景中实现。",
        "where_holds": "目标实现的区域",
        "where_fails": "目标未实现的区域",
        "never": "在抽样范围内目标从未实现（最高 {value}）：无区域可寻。",
        "always": "目标在所有抽取情景中都实现：无区域可寻。",
        "stats": "覆盖率 {coverage:.0%}，密度 {density:.0%}，区域内情景 {mass} 个（目标{verb}）",
        "holds": "实现",
        "fails": "未实现",
        "discovery_note": "默认样本（每个不确定因素10个情景）是得出区域所需的最少样本；"
        "更大样本请用 `lithium-sim explore`。",
    },
}


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["en"])


def metric_name(lang: str, metric: str) -> str:
    """A metric's label: the workbench's own for the figures it adds (``net_fiscal``), else the outputs' labels."""
    if metric in ("net_fiscal",):
        return words(lang)[metric]
    from sim.outputs.labels import metric_label

    return metric_label(lang, metric)


# What each control means, in Chinese (the English is its declaration's ``reason``), by control key; a key
# ``*.from`` stands for every lever's first year and ``project:*`` for every project's chance.
EXPLANATIONS_ZH = {
    "end": "模拟到该年12月；模拟期越短运行越快，情景自身的截止年份为最长",
    "price_mode": "按情景价格路径：碳酸锂价格沿情景设定的路径及其延续变化；由全球供需出清：价格由全球供给、库存与"
    "需求决定（此时下面的价格水平与波动率不起作用）",
    "price_level": "历史数据之后碳酸锂（电池级，含税）价格回归的水平：从低于2025年低谷（约6万元/吨）和6–7万元/吨的"
    "成本支撑，到2025年末现货价的两倍；2022年约60万元/吨的高峰视为短期冲高，不作为水平",
    "price_volatility": "历史数据之后价格冲击的月度对数标准差：从无波动到约等于2022–2025年的月度波动幅度",
    "demand_growth": "历史数据之后全国电池需求增速，按情景增速的倍数：从一半（电动车与储能放缓）到1.5倍（储能爆发）",
    "*.from": "该政策开始起作用的年份（1月起）",
    "project:*": "已签约项目可能建成也可能不建成：建成概率从零到确定（每次模拟抽取一次）",
    "tax_relief.vat_refund_share": "遂宁企业进项留抵税额在每年12月退还的比例",
    "tax_relief.amount": "当年向遂宁锂电企业发放的减税降费资金（现金，按厂房设备价值分配）",
    "energy_support.cost_cut": "遂宁企业能源成本的降幅（天然气转供改直供约可节省每千瓦时当量约0.6元中的0.05元）",
    "investment_support.capex_subsidy": "政府承担的遂宁企业设备投资比例（省市设备补贴目前为3%–8%）",
    "investment_support.lag_cut_months": "“标准地”供应、审批就绪后建设周期缩短的月数",
    "land_efficiency.grade_a": "单位厂房的增加值加税收达到环节全国平均的该倍数即评为A类（四川亩均评价按亩均税收"
    "与产出将企业分为A–D类）",
    "land_efficiency.grade_c": "低于该倍数评为C类（低于D类门槛为D类）；介于C与A之间为B类",
    "land_efficiency.grade_d": "低于该倍数评为D类",
    "land_efficiency.energy_discount_a": "A类企业的用能价格优惠（优先保障、较低电价）",
    "land_efficiency.energy_surcharge_c": "C类企业的差别化能源价格（浙江做法：每千瓦时约0.6元上加0.05元）",
    "land_efficiency.energy_surcharge_d": "D类企业的差别化能源价格（每千瓦时约0.6元上加0.1元）",
    "land_efficiency.upgrade_cost_share": "C、D类厂房技改的成本，占其设备投资的比例",
    "land_efficiency.upgrade_cost_cut": "技改后加工与能源成本的降幅",
    "land_efficiency.upgrade_support": "市政府承担的技改成本比例（技改补助）",
    "land_efficiency.exit_after_d_years": "连续评为D类达到该年数且无力技改的厂房退还用地",
    "hedging.share": "遂宁碳酸锂产量在广期所碳酸锂合约上卖出套保的比例",
    "hedging.horizon_months": "卖出套保到交割之间的月数（广期所合约最长12个月）",
    "hedging.basis_cost": "套保吨数支付的交割与品级基差（仓储费、品级贴水）",
    "hedging.margin_rate": "持仓须缴纳的交易所保证金比例，按企业利率融资",
    "innovation.extra_learning_rate": "遂宁企业加工成本每年额外下降的幅度",
    "energy_support.city_cost_share": "企业节省的能源费用中由市财政承担的比例：电价或气价补贴为1（企业节省"
    "多少、财政付出多少，约每千瓦时0.03–0.10元）；仅去除转供加价的直供改革接近0（约每千瓦时0.03–0.15元）；为假设值，默认1以显示全部成本",
    "innovation.cost_per_point": "每使加工成本年降幅多1个百分点所需的市财政资金（揭榜挂帅奖励、锂电研究院"
    "经费），政策期内按厂房比例拨付给遂宁企业；为假设值，范围0.3–3亿元：每年约5项、每项143万元的奖励加研究院2000万元（每年约0.27亿元）约可"
    "换得四分之一个百分点",
}
SOURCES_ZH = {  # each lever's line of the work report, in Chinese (the English is the lever's ``report``)
    "tax_relief": "政府工作报告第17行：2023年全市新增减税降费及缓税缓费9.03亿元，留抵退税3.51亿元",
    "energy_support": "政府工作报告第125行：天然气转供改直供，500千伏电网工程",
    "investment_support": "政府工作报告第81行：增资扩能与“标准地”供应",
    "land_efficiency": "政府工作报告第81行：闲置低效用地下降10%以上，亩均产出提高10%以上",
    "hedging": "政府工作报告第21、99行：天齐、盛新在遂宁设立碳酸锂期货交割库",
    "innovation": "政府工作报告第23行：59个揭榜挂帅项目，锂电研究院联盟",
}


def explanation(key: str, english: str, lang: str) -> str:
    """What control ``key`` means, in ``lang``: its Chinese from `EXPLANATIONS_ZH` (falling back on the
    English ``english`` for a control declared without one)."""
    if lang != "zh":
        return english
    for candidate in (key, "*." + key.rsplit(".", 1)[-1], key.split(":", 1)[0] + ":*"):
        if candidate in EXPLANATIONS_ZH:
            return EXPLANATIONS_ZH[candidate]
    return english


def lever_source(lever: str, english: str, lang: str) -> str:
    """Where lever ``lever`` comes from, in ``lang`` (`SOURCES_ZH`; the English ``english`` otherwise)."""
    return SOURCES_ZH.get(lever, english) if lang == "zh" else english
