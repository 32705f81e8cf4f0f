"""Words for charts, workbooks and the workbench, in English and Chinese: one table per language.

Stage names come from the chain's declarations (`sim.inputs.chain`), lever names from the levers'
(`sim.inputs.levers`); this module holds the rest (metrics, units, titles). A second language is a table here,
not new code.
"""

from __future__ import annotations

from sim.inputs.chain import DEFAULT_CHAIN, Chain

LANGUAGES = ("en", "zh")

METRICS = {
    "en": {
        "output": "output",
        "capacity": "capacity",
        "utilization": "capacity utilisation",
        "price": "price",
        "national_share": "share of national output",
        "output_value": "gross output value (产值)",
        "intermediate": "intermediate consumption",
        "value_added": "value added, current prices",
        "value_added_real": "value added at comparable prices (chained, 2022 = reference)",
        "value_added_fixed_2022": "value added at fixed 2022 prices",
        "value_added_real_growth": "real value-added growth (comparable prices)",
        "wages": "wages",
        "profit": "profit",
        "taxes": "taxes",
        "support": "policy support",
        "employment": "employment",
        "firms": "firms",
        "fixed_asset_investment": "fixed-asset investment",
        "demand": "demand",
        "unmet_demand": "unmet demand",
        "gross_margin": "gross margin",
        "gross_margin_leaders": "gross margin, leaders",
        "gross_margin_second": "gross margin, second tier",
        "gross_margin_tail": "gross margin, tail",
        "supply": "supply",
        "inventory": "inventory",
        "curtailed_capacity": "curtailed capacity",
        "local_fiscal_revenue": "local fiscal revenue",
        "gdp_share": "share of city GDP",
        "gdp_growth_contribution": "contribution to city GDP growth",
        "fai_growth_contribution": "contribution to city investment growth",
        "revenue_growth_contribution": "contribution to city revenue growth",
        "city_gdp_growth": "city real GDP growth (record, then projection)",
    },
    "zh": {
        "output": "产量",
        "capacity": "产能",
        "utilization": "产能利用率",
        "price": "价格",
        "national_share": "占全国产量比重",
        "output_value": "产值（现价）",
        "intermediate": "中间投入",
        "value_added": "增加值（现价）",
        "value_added_real": "增加值（可比价，链式，2022年为参照）",
        "value_added_fixed_2022": "增加值（2022年不变价）",
        "value_added_real_growth": "增加值实际增速（可比价）",
        "wages": "工资",
        "profit": "利润",
        "taxes": "税收",
        "support": "政策支持",
        "employment": "就业人数",
        "firms": "企业数",
        "fixed_asset_investment": "固定资产投资",
        "demand": "需求",
        "unmet_demand": "未满足需求",
        "gross_margin": "毛利率",
        "gross_margin_leaders": "毛利率（头部企业）",
        "gross_margin_second": "毛利率（二线企业）",
        "gross_margin_tail": "毛利率（尾部企业）",
        "supply": "供给",
        "inventory": "库存",
        "curtailed_capacity": "减停产产能",
        "local_fiscal_revenue": "地方财政收入",
        "gdp_share": "占全市GDP比重",
        "gdp_growth_contribution": "对全市GDP增长的拉动",
        "fai_growth_contribution": "对全市固定资产投资增长的拉动",
        "revenue_growth_contribution": "对全市一般公共预算收入增长的拉动",
        "city_gdp_growth": "全市GDP实际增速（实际值与预测）",
    },
}

UNITS = {
    "en": {
        "share": "share (0–1)",
        "亿元 (2022 prices)": "亿元, 2022 prices",
        "亿元 (2022 prices, chained)": "亿元, comparable prices (2022 reference)",
    },
    "zh": {
        "t LCE": "吨 LCE",
        "t": "吨",
        "persons": "人",
        "firms": "家",
        "share": "比例（0–1）",
        "亿元 (2022 prices)": "亿元，2022年价格",
        "亿元 (2022 prices, chained)": "亿元，可比价（2022年为参照）",
        "yuan/t LCE excl. VAT": "元/吨 LCE（不含税）",
        "yuan/t excl. VAT": "元/吨（不含税）",
        "yuan/Wh excl. VAT": "元/Wh（不含税）",
        "yuan/t LCE incl. VAT": "元/吨 LCE（含税）",
        "t LCE/yr": "吨 LCE/年",
        "t/yr": "吨/年",
        "GWh/yr": "GWh/年",
        "percentage points": "百分点",
    },
}

TEXT = {
    "en": {
        "suining": "Suining",
        "china": "China",
        "world": "world",
        "all": "all segments",
        "year": "year",
        "band": "P5–P95",
        "report": "work report, 2023",
        "scenario": "scenario",
        "difference": "difference",
        "percentage_points": "percentage points",
        "with_unit": "{name} ({unit})",
        "output_title": "Suining output by segment — {scenario}",
        "va_title": "Suining lithium value added — {scenario}: current prices (left), real growth (right)",
        "va_level": "value added, current prices (亿元)",
        "va_growth": "real growth at comparable prices (%)",
        "share_title": "Suining share of national output — {scenario}",
        "share_axis": "share of China's output (%)",
        "price_title": "Prices, excl. VAT — {scenario}",
        "demand_title": "China: demand, output and capacity by segment — {scenario}",
        "demand": "demand",
        "output": "output",
        "capacity": "capacity",
        "unmet": "unmet demand",
        "world_title": "World lithium market — {scenario}: supply, demand and stocks (t LCE)",
        "supply": "supply",
        "inventory": "inventory (end of year)",
        "curtailed": "curtailed capacity",
        "price_incl": "carbonate price incl. VAT (yuan/t)",
        "curve_title": "World lithium cost curve and the carbonate price — {scenario}",
        "curve_x": "cumulative capacity (kt LCE/yr)",
        "curve_y": "cash cost incl. conversion (yuan/t LCE, excl. VAT)",
        "curve_price": "price {year}, excl. VAT",
        "curve_demand": "demand {year}",
        "cmp_levels": "{title}: scenarios (mean, P5–P95 band)",
        "cmp_diff": "{title}: difference from '{baseline}'",
        "cmp_diff_final": "{title}: difference from '{baseline}' in {year}",
        "cmp_output": "Suining output by segment",
        "cmp_value_added": "Suining lithium value added (current prices)",
        "cmp_growth": "Suining real value-added growth",
        "cmp_share": "Suining share of national output",
        "cmp_employment": "Suining lithium employment",
        "cmp_profit": "Suining lithium profit",
        "cmp_investment": "Suining lithium fixed-asset investment",
        "sheets": {
            "headline": "Headline",
            "difference": "Difference",
            "comparison": "Comparison",
            "scoreboard": "Scoreboard",
        },
        "score_title": "The work report's scoreboard — {scenario}: what lithium adds (percentage points)",
        "score_cmp_title": "The work report's scoreboard by scenario: lithium's contribution (percentage points)",
        "score_gdp": "GDP growth",
        "score_fai": "fixed-asset investment growth",
        "score_revenue": "local budget revenue growth",
        "score_share": "lithium value added, share of city GDP (%)",
        "contribution": "lithium's contribution (points)",
        "record": "city record",
        "target": "report target",
        "city_growth": "city growth (record, then projection)",
        "indicators": {
            "gdp_growth": "GDP growth (%)",
            "fai_growth": "fixed-asset investment growth (%)",
            "revenue_growth": "local budget revenue growth (%)",
            "projects_signed": "projects signed over 1 亿",
        },
        "score_columns": {
            "scenario": "Scenario",
            "year": "Year",
            "indicator": "Indicator",
            "target": "Report target",
            "city_record": "City record",
            "lithium_metric": "Lithium figure",
            "lithium_value": "Lithium value",
            "lithium_unit": "Unit",
            "contribution_mean": "Lithium contribution (points, mean)",
            "contribution_p05": "P5",
            "contribution_p95": "P95",
        },
        "headline_title": "Suining lithium industry by scenario and year: mean over replicates",
        "difference_title": "Suining lithium industry: difference from the baseline scenario '{baseline}' "
        "(mean over replicates)",
        "indicator": "indicator",
        "columns": {
            "scenario": "Scenario",
            "year": "Year",
            "region": "Region",
            "segment": "Segment",
            "metric": "Metric",
            "unit": "Unit",
            "mean": "Mean",
            "p05": "P5",
            "p50": "P50 (median)",
            "p95": "P95",
            "diff_mean": "Difference from baseline (mean, in the row's unit)",
            "diff_pct": "Difference from baseline (% of baseline mean)",
        },
    },
    "zh": {
        "suining": "遂宁",
        "china": "全国",
        "world": "全球",
        "all": "合计",
        "year": "年份",
        "band": "P5–P95",
        "report": "政府工作报告，2023年",
        "scenario": "情景",
        "difference": "差值",
        "percentage_points": "百分点",
        "with_unit": "{name}（{unit}）",
        "output_title": "遂宁分环节产量 — {scenario}",
        "va_title": "遂宁锂电产业增加值 — {scenario}：现价（左）与可比价实际增速（右）",
        "va_level": "增加值，现价（亿元）",
        "va_growth": "可比价实际增速（%）",
        "share_title": "遂宁产量占全国比重 — {scenario}",
        "share_axis": "占全国产量比重（%）",
        "price_title": "价格（不含税） — {scenario}",
        "demand_title": "全国分环节需求、产量与产能 — {scenario}",
        "demand": "需求",
        "output": "产量",
        "capacity": "产能",
        "unmet": "未满足需求",
        "world_title": "全球锂市场 — {scenario}：供给、需求与库存（吨 LCE）",
        "supply": "供给",
        "inventory": "库存（年末）",
        "curtailed": "减停产产能",
        "price_incl": "碳酸锂价格，含税（元/吨）",
        "curve_title": "全球锂资源成本曲线与碳酸锂价格 — {scenario}",
        "curve_x": "累计产能（千吨 LCE/年）",
        "curve_y": "含转化的现金成本（元/吨 LCE，不含税）",
        "curve_price": "{year}年价格（不含税）",
        "curve_demand": "{year}年需求",
        "cmp_levels": "{title}：各情景（均值，P5–P95 区间）",
        "cmp_diff": "{title}：与“{baseline}”情景之差",
        "cmp_diff_final": "{title}：{year}年与“{baseline}”情景之差",
        "cmp_output": "遂宁分环节产量",
        "cmp_value_added": "遂宁锂电产业增加值（现价）",
        "cmp_growth": "遂宁锂电产业增加值实际增速",
        "cmp_share": "遂宁产量占全国比重",
        "cmp_employment": "遂宁锂电产业就业人数",
        "cmp_profit": "遂宁锂电产业利润",
        "cmp_investment": "遂宁锂电产业固定资产投资",
        "sheets": {
            "headline": "主要指标",
            "difference": "与基准差值",
            "comparison": "完整对比表",
            "scoreboard": "记分牌",
        },
        "score_title": "政府工作报告记分牌 — {scenario}：锂电产业的拉动（百分点）",
        "score_cmp_title": "政府工作报告记分牌（分情景）：锂电产业的拉动（百分点）",
        "score_gdp": "地区生产总值增长",
        "score_fai": "固定资产投资增长",
        "score_revenue": "地方一般公共预算收入增长",
        "score_share": "锂电增加值占全市GDP比重（%）",
        "contribution": "锂电拉动（百分点）",
        "record": "全市实际",
        "target": "报告目标",
        "city_growth": "全市增速（实际与预测）",
        "indicators": {
            "gdp_growth": "地区生产总值增速（%）",
            "fai_growth": "固定资产投资增速（%）",
            "revenue_growth": "地方一般公共预算收入增速（%）",
            "projects_signed": "签约亿元以上项目（个）",
        },
        "score_columns": {
            "scenario": "情景",
            "year": "年份",
            "indicator": "指标",
            "target": "报告目标",
            "city_record": "全市实际",
            "lithium_metric": "锂电指标",
            "lithium_value": "锂电数值",
            "lithium_unit": "单位",
            "contribution_mean": "锂电拉动（百分点，均值）",
            "contribution_p05": "P5",
            "contribution_p95": "P95",
        },
        "headline_title": "遂宁锂电产业分情景、分年度主要指标（各次模拟均值）",
        "difference_title": "遂宁锂电产业：与基准情景（{baseline}）之差（各次模拟均值）",
        "indicator": "指标",
        "columns": {
            "scenario": "情景",
            "year": "年份",
            "region": "地区",
            "segment": "环节",
            "metric": "指标",
            "unit": "单位",
            "mean": "均值",
            "p05": "P5",
            "p50": "P50（中位数）",
            "p95": "P95",
            "diff_mean": "与基准差值（均值，单位同本行）",
            "diff_pct": "与基准差值（占基准均值的%）",
        },
    },
}

UNIT_WORDS = {"zh": {"t LCE": "吨 LCE", "t": "吨", "GWh": "GWh"}}


def check(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGUAGES)}")
    return lang


def text(lang: str) -> dict:
    """The text table of a language."""
    return TEXT[check(lang)]


def metric_label(lang: str, metric: str) -> str:
    return METRICS[check(lang)].get(metric, metric.replace("_", " "))


def unit_label(lang: str, unit: str) -> str:
    return UNITS[check(lang)].get(unit, unit)


def segment_label(lang: str, segment: str, chain: Chain = DEFAULT_CHAIN) -> str:
    """A stage's label from its declaration; ``all`` and unknown keys from the text table."""
    if segment in chain:
        return chain[segment].label(lang)
    return text(lang).get(segment, segment)


def stage_unit(lang: str, segment: str, chain: Chain = DEFAULT_CHAIN) -> str:
    unit = chain[segment].unit
    return UNIT_WORDS.get(lang, {}).get(unit, unit)
