"""The firms of the reference model: one `mesa.Agent` per plant, its state in plain attributes, its rules as methods.

A plant of a firm stage (a lithium salt maker, an LFP cathode maker or a cell maker) in one replicate. Its state
is the list of `agents.book.FirmBook`'s fields, one number each (``u`` the stage's unit: t LCE, t or GWh); its
month runs as docs/model.md, "Submodels: offers and allocation", "Submodels: accounting" and "Submodels:
investment, entry and exit", state it:

- `Firm.offer`: its unit cost at this month's materials price, its variable margin at the price it receives,
  and what it offers::

      processing = (max(conversion + freight, 0.1 conversion) + energy x power x energy_factor x grade_factor)
                   x cost_factor x L_t                    (freight, power: its cluster's, beside the rest of China's)
      input      = materials                              (LFP and cell makers: the stage's materials price)
                 = own x mine cost + (1 - own) x materials x (1 - Suining's discount)        (salt makers)
      c          = input + processing,    m = (p - c) / p
      offer      = available / 12 x clip(1 + m / cut_margin, min_utilization, 1)     (running)
                 = available / 12 x [m > 0]                                          (idle)

- `Firm.produce`: the month's accounts (`sim.reference.accounts`) of the quantity its market gives it, finance,
  utilisation averages;
- `Firm.step`: the end of its month: expectations, the loss streak, idling and exit;
- `Firm.plan_investment`: the capacity it orders at a quarter's end::

      return = (Ehat x P x uhat - labour x wage) / own capex - 1 / depreciation_years
      order  = capacity x min(max_expansion_share, investment_sensitivity x (return - hurdle))
               x clip((uhat - investment_utilization) / investment_utilization_span, 0, 1)

Every plant the run may hold has an agent from the start, as every plant has a column in the engine's book: a
plant not built (yet), an entrant slot not taken and a plant that exited are ``active = False`` and produce
nothing. Their bookkeeping still runs (their utilisation averages fall toward zero, their loss streak is zero),
as the engine's does for every column; a slot taken later starts from that state.
"""

from __future__ import annotations

import mesa

from sim.reference.accounts import finance, month_accounts, ramp_month


class Firm(mesa.Agent):
    """A plant of a firm stage, one replicate.

    Identity (fixed): ``firm_id``, ``name``, ``role`` (registry, project, synthetic, cluster, entrant), ``cluster``
    (index of its cluster; Suining is 0), ``group`` (its firm group), ``listed_parent``, ``tier``, and its
    cluster's conditions relative to the rest of China: ``energy_location``, ``logistics`` (yuan/u of freight),
    ``wage_location``, ``capex_location``.

    State: every field of `agents.book.FirmBook` (capacity, ramping, costs, factors, capital, cash, debt, VAT
    credit, expectations, utilisation averages, loss streak, grade years, status), one number each.
    """

    stage_key = ""

    def __init__(self, model: mesa.Model, stage, column: int, identity: dict, state: dict) -> None:
        super().__init__(model)
        self.stage = stage
        self.column = column
        for name, value in identity.items():
            setattr(self, name, value)
        for name, value in state.items():
            setattr(self, name, value)
        # feedstock terms of a registered salt plant: how its accounts pay for its main input
        self.registered = None  # its `sim.inputs.data.RegisteredFirm` (registry plants)
        self.has_terms = False
        self.accounts_linked: dict[int, float] = {}  # lag in months -> weight of a market-linked part
        self.accounts_at_cost = 0.0  # share paid at the group's mining cost
        # this month's figures (set by `offer`, read by the market and `produce`)
        self.received = 0.0
        self.unit_cost = self.accounts_cost = self.input = self.processing = 0.0
        self.margin = 0.0
        self.offered = 0.0
        self.weight = 0.0
        self.quantity = 0.0
        self.operating = 0.0
        self.relief = 0.0
        self.grants = 0.0
        self.planned = 0.0  # this quarter's order, u/yr
        self.exited_now = False
        self.year: dict[str, float] = {}  # this year's flows (yuan, u; employment in persons)

    @property
    def suining(self) -> bool:
        return self.cluster == 0

    # --- capacity ------------------------------------------------------------------------------------------
    def available(self) -> float:
        """Capacity able to produce this month, u/yr: a ramping tranche counts pro rata."""
        return self.capacity - self.ramping

    def advance_ramp(self) -> None:
        """One month of ramp-up: what still ramps loses ``1 / months left`` of itself (all of it in the last)."""
        self.ramping, self.ramp_months_left = ramp_month(self.ramping, self.ramp_months_left)

    def add_capacity(self, amount: float, ramp_months: float) -> None:
        """A tranche comes online and ramps up over ``ramp_months``; one still ramping ramps with it from now."""
        self.capacity += amount
        if ramp_months > 0:
            self.ramping += amount
            self.ramp_months_left = max(self.ramp_months_left, ramp_months)

    def close(self) -> None:
        """Exit: capacity scrapped, construction stopped, the books closed; the agent stays for the record."""
        for name in ("capacity", "ramping", "ramp_months_left", "capex_rate", "subsidy_rate", "funded_rate"):
            setattr(self, name, 0.0)
        for name in ("capital", "cash", "debt", "vat_credit"):
            setattr(self, name, 0.0)
        self.active = False
        self.idle = False

    def start(self, expected_margin: float) -> None:
        """A new firm in this slot (or the first plant of a cluster's new-plant column): in business, with the
        expectations given."""
        self.active = True
        self.expected_margin = expected_margin
        self.margin_year = expected_margin

    # --- costs and offers ----------------------------------------------------------------------------------
    def processing_cost(self, learn: float) -> float:
        """Conversion (with freight beyond the rest of China's) and energy at the cluster's price, yuan/u."""
        energy = self.energy_cost * self.energy_location * self.energy_factor * self.grade_factor
        return (max(self.conversion_cost + self.logistics, 0.1 * self.conversion_cost) + energy) * (
            self.cost_factor * learn
        )

    def input_cost(self, materials: float) -> float:
        """Materials per unit the firm decides on, yuan/u: the market's."""
        return materials

    def controllable_cost(self) -> float:
        """The cost firms compete on: inputs bought at one price do not tell them apart; processing does."""
        return self.processing

    def accounts_input(self, decided: float, materials: float, history: list[float]) -> float:
        """What the plant's accounts pay for its main input per unit: the cost it decides on, except a registered
        salt plant with feedstock terms, whose market-linked parts pay the mean market materials price of the
        ``lag`` months before this one (less a discount) and whose parts at cost pay its group's mining cost."""
        if not self.has_terms:
            return decided
        paid = self.accounts_at_cost * self.own_feedstock_cost
        for lag, weight in self.accounts_linked.items():
            past = sum(history[-lag:]) / len(history[-lag:]) if lag > 0 and history else materials
            paid = paid + weight * past
        return paid

    def costs(self, materials: float, learn: float, history: list[float]) -> float:
        """This month's unit costs at the stage's materials price (yuan/u); returns the one it decides on."""
        self.processing = self.processing_cost(learn)
        self.input = self.input_cost(materials)
        self.accounts_cost = self.accounts_input(self.input, materials, history) + self.processing
        self.unit_cost = self.input + self.processing
        return self.unit_cost

    def offer_share(self, margin: float) -> float:
        """Share of available capacity offered: all while the margin covers variable cost, cut linearly toward
        ``min_utilization`` with the loss; an idle plant offers all once its margin is positive, else nothing."""
        p = self.model.params
        if self.idle:
            return 1.0 if margin > 0.0 else 0.0
        return min(max(1.0 + margin / p.cut_margin, p.min_utilization), 1.0)

    def offer_at(self, margin: float) -> float:
        """What the plant offers at a margin, u/month (nothing unless in business)."""
        if not self.active:
            return 0.0
        return self.available() / 12.0 * self.offer_share(margin)

    def prepare(self, received: float, materials: float, learn: float, history: list[float]) -> None:
        """The price it receives and its costs before the stage clears (its offer at a markup: `offer_at`)."""
        self.received = received
        self.costs(materials, learn, history)

    def offer(self, received: float, materials: float, learn: float, history: list[float]) -> float:
        """Cost, margin and offer at the price the plant receives this month, u/month."""
        self.received = received
        self.costs(materials, learn, history)
        self.margin = (received - self.unit_cost) / received
        self.offered = self.offer_at(self.margin)
        return self.offered

    # --- the month's production and accounts ---------------------------------------------------------------
    def produce(self, quantity: float, month: int, support: float, unmet: float = 0.0) -> None:
        """Make ``quantity`` (u/month) at the price received: accounts, finance, utilisation averages.

        ``support`` is what the city pays on the plant's behalf this month (its capex subsidy, tax relief, grants,
        its share of energy support) and ``unmet`` its part of the stage's unmet demand, recorded with the year's
        flows; tax relief (``relief``) is booked as other income.
        """
        p = self.model.params
        self.quantity = quantity
        available = self.available()
        util = quantity * 12.0 / available if available > 0 else 0.0
        employment = self.labour * self.capacity * (p.labour_fixed_share + (1 - p.labour_fixed_share) * util)
        investment = self.capex_rate + self.subsidy_rate + self.funded_rate  # spent on plant, all sources
        acc = month_accounts(
            quantity,
            self.received,
            self.accounts_cost,
            employment,
            self.capital,
            self.debt,
            self.vat_credit,
            annual_wage=p.annual_wage * self.wage_location,
            params=p,
            subsidy=self.relief,
            investment=investment,
        )
        self.vat_credit = acc["vat_credit"]
        self.capital = self.capital - acc["depreciation"]  # declining balance
        self.operating = acc["net_income"] + acc["depreciation"]
        self.cash, self.debt = finance(self.cash, self.debt, self.operating - self.capex_rate)
        self.utilization = util
        self.utilization_q = self.utilization_q + (util - self.utilization_q) / 3.0
        self.utilization_y = self.utilization_y + (util - self.utilization_y) / 12.0
        if month == 0:  # expectations start from the first month's margin
            self.expected_margin = self.margin
            self.margin_year = self.margin
        flows = {name: acc[name] for name in ("output_value", "intermediate", "value_added", "wages", "depreciation")}
        flows.update({name: acc[name] for name in ("vat", "surcharges", "income_tax", "profit", "interest")})
        flows.update(output=quantity, investment=investment, support=support, unmet=unmet)
        flows.update(employment=employment / 12.0, available=available / 12.0, installed=self.capacity / 12.0)
        for name, value in flows.items():
            self.year[name] = self.year.get(name, 0.0) + value

    def step(self) -> None:
        """The end of the plant's month: expectations, loss streak, idling and exit.

        Expectations move toward this month's margin (``expected_margin`` by ``expectation_weight``,
        ``margin_year`` by a twelfth). A month of negative operating cash flow lengthens the loss streak, any
        other ends it; an idle plant restarts once its margin is positive. At ``idle_after_loss_months`` with no
        positive margin the plant idles; at ``exit_after_loss_months`` it exits if insolvent (``debt > cash +
        liquidation_value x capital``), unless a listed parent's credit (``parent_credit_share x capital``)
        covers the gap.
        """
        p = self.model.params
        margin = self.margin
        if self.active:
            self.expected_margin = self.expected_margin + p.expectation_weight * (margin - self.expected_margin)
            self.margin_year = self.margin_year + (margin - self.margin_year) / 12.0
        losing = self.active and self.operating < 0.0
        self.loss_months = self.loss_months + 1.0 if losing else 0.0
        if self.idle and self.active and margin > 0.0:  # restart
            self.loss_months = 0.0
        exit_now = self.active and self.loss_months >= p.exit_after_loss_months
        idle_now = (
            self.active
            and not self.idle
            and not exit_now
            and self.loss_months >= p.idle_after_loss_months
            and margin <= 0.0
        )
        insolvent = self.debt > self.cash + p.liquidation_value * self.capital
        exit_now = exit_now and insolvent
        if self.listed_parent:  # a listed parent's finance keeps its plant going
            backed = self.debt <= self.cash + p.liquidation_value * self.capital + self.parent_credit()
            exit_now = exit_now and not backed
        self.idle = (self.idle and not margin > 0.0) or idle_now
        self.exited_now = exit_now
        if exit_now:
            self.close()

    def parent_credit(self) -> float:
        """What a listed parent will put into the plant, yuan."""
        return self.model.params.parent_credit_share * self.capital if self.listed_parent else 0.0

    # --- investment ----------------------------------------------------------------------------------------
    def expected_utilization(self, stage_utilization: float) -> float:
        """Utilisation expected of new lines: a blend of the plant's quarter and its stage's."""
        w = self.model.params.own_utilization_weight
        return w * self.utilization_q + (1.0 - w) * stage_utilization

    def own_capex(self, capex: float) -> float:
        """Capex per u/yr the firm pays itself at its cluster: less its city's capex subsidy, or in the rest of
        China local incentives."""
        p = self.model.params
        local = 1.0 - p.local_incentive_share if self.cluster == self.model.reference_cluster else 1.0
        return capex * self.capex_location * self.capex_factor * local

    def expected_return(self, price: float, capex: float, stage_utilization: float) -> float:
        """Expected annual return on a unit of new capacity, net of depreciation, 1/yr."""
        p = self.model.params
        ehat = self.expected_margin + p.expectation_trend * (self.expected_margin - self.margin_year)
        uhat = self.expected_utilization(stage_utilization)
        operating = ehat * price * uhat - self.labour * (p.annual_wage * self.wage_location)
        return operating / self.own_capex(capex) - 1.0 / p.depreciation_years

    def plan_investment(self, price: float, capex: float, stage_utilization: float) -> float:
        """Capacity ordered this quarter, u/yr: a bankable plant in business whose expected return clears the
        hurdle orders in proportion to the excess, slowing as the utilisation it expects falls toward
        ``investment_utilization``."""
        p = self.model.params
        bankable = self.debt <= p.max_leverage * (self.capital + self.cash)
        excess = self.expected_return(price, capex, stage_utilization) - p.investment_hurdle
        uhat = self.expected_utilization(stage_utilization)
        pull = min(max((uhat - p.investment_utilization) / max(p.investment_utilization_span, 1e-9), 0.0), 1.0)
        self.planned = 0.0
        if self.active and not self.idle and bankable and excess > 0.0 and self.capacity > 0.0:
            self.planned = (
                self.capacity * min(p.max_expansion_share, p.investment_sensitivity * max(excess, 0.0)) * pull
            )
        return self.planned


class SaltMaker(Firm):
    """Lithium carbonate/hydroxide maker (t LCE)."""

    stage_key = "lithium_salt"

    def input_cost(self, materials: float) -> float:
        """Feedstock per t LCE the group decides on: its own mines' cash cost for the part they supply, bought
        concentrate at the formula price for the rest, less Suining's discount for nearby Sichuan spodumene."""
        discount = 1.0 - self.model.params.suining_feedstock_discount if self.suining else 1.0
        bought = materials * discount
        return self.own_share * self.own_feedstock_cost + (1.0 - self.own_share) * bought

    def feedstock_relief(self) -> float:
        """Yuan/t LCE its cost falls per yuan the bought feedstock gives way (the part it buys)."""
        discount = 1.0 - self.model.params.suining_feedstock_discount if self.suining else 1.0
        return (1.0 - self.own_share) * discount

    def controllable_cost(self) -> float:
        """Converters differ in what their feedstock costs them (own mine, bought, nearby ore): it counts."""
        return self.input + self.processing


class CathodeMaker(Firm):
    """LFP cathode maker (t)."""

    stage_key = "lfp_cathode"


class CellMaker(Firm):
    """Lithium-ion cell maker (GWh), all chemistries at the national LFP share."""

    stage_key = "battery"


FIRM_CLASSES: dict[str, type[Firm]] = {cls.stage_key: cls for cls in (SaltMaker, CathodeMaker, CellMaker)}


def firm_class(stage_key: str) -> type[Firm]:
    """The agent class of a stage's plants (plain `Firm` for a stage without its own rules)."""
    return FIRM_CLASSES.get(stage_key, Firm)
