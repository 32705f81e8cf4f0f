"""Units and calendar constants, defined once for the whole project.

Money in the model is in yuan; tables and charts report it in 亿元 (100 million yuan), the unit planners use.
Months are counted from January 2022, the first month of every run and the base year of the constant-price
accounts (docs/model.md, "Initialisation").
"""

from __future__ import annotations

YI = 1e8  # yuan per 亿元
YUAN_PER_WH = 1e9  # yuan/GWh per yuan/Wh: cell prices are reported per Wh
LIOH_TO_LCE = 0.88  # t LCE per t LiOH·H2O: 73.89 / (2 x 41.96) (docs/data.md, "Conversions")
MODEL_START = (2022, 1)  # (year, month) of month index 0
BASE_YEAR = MODEL_START[0]  # base year of the fixed-price value added
MAX_END_YEAR = 2050
MONTHS_PER_YEAR = 12
