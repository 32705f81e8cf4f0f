"""The agent-based model of the lithium chain: Suining's named firms and a synthetic rest of China, a batch of
replicates at once.

`LithiumModel` is a `mesa.Model` whose firm agents (`agents.firm`) keep their state in one `FirmBook` per stage
of the chain, ``(R, N)`` arrays with a row per replicate, and whose world supply cohorts (`agents.producer`)
keep theirs in a `SupplyBook` (market mode). Each monthly step (docs/model.md, "Process overview and
scheduling"), for every replicate at once:

1. capacity under construction comes online and ramps up; capex is spent on plant being built;
2. policy levers set this month's factors and payments (`sim.engine.policy`);
3. demand drivers: the scenario's demand, cell demand responding to the cell price, sodium-ion substitution;
4. prices, upstream to downstream, each stage by its declared price rule (`sim.engine.market.PRICE_RULES`);
5. every firm's unit cost, margin and offer;
6. the chain's quantities: demand passed up the chain, what each stage can deliver given its offers and its
   inputs, the world market's clearing in market mode, and what each stage produces (`chain_quantities`);
7. within each stage demand is split among firms by a logit on controllable cost, capped by offers, so
   Suining's shares emerge; every firm's accounts, finance, expectations, idling and exit;
8. in December the year-end levers (VAT refunds, the land-efficiency review); each quarter investment by
   incumbents, entry into the rest of China and, in market mode, the expansion of supply cohorts.

Every kernel is vectorised over replicates and firms; each replicate draws from its own spawned streams, so a
replicate's results do not depend on its batch.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import mesa
import numpy as np
from scipy import stats

from agents.book import Columns, FirmBook
from agents.firm import Firm, firm_type
from agents.producer import Producer
from sim.engine import guard, market, policy
from sim.engine.accounting import finance, firm_accounts
from sim.engine.population import (
    Streams,
    draw_entrants,
    draw_population,
    firm_attributes,
    stack,
)
from sim.engine.records import BatchRecord, Recorder
from sim.engine.supply import DAYS_PER_MONTH, SupplyBook, WorldMarket
from sim.inputs.chain import DEFAULT_CHAIN, Chain, Stage
from sim.inputs.data import ModelData, RegisteredFirm, default_data
from sim.inputs.scenario import Scenario
from sim.inputs.units import BASE_YEAR, YI


def _slug(name: str) -> str:
    return "project_" + "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


@dataclass
class Event:
    """Capacity arriving, or capex spending changing, for some cells (replicate, column) of a stage."""

    stage: str
    rows: np.ndarray
    cols: np.ndarray
    amount: np.ndarray  # u/yr arriving, or yuan/month of spending
    kind: str  # "arrive", "arrive_financed" (debt taken on at arrival), "spend" (rates change)
    subsidy: np.ndarray | None = None  # yuan/month of government capex (spend events)
    funded: np.ndarray | None = None  # yuan/month of capex financed at completion (spend events)


class LithiumModel(mesa.Model):
    """Suining's lithium chain within the national (and, in market mode, world) market, R replicates at once.

    Args:
        scenario: a validated `Scenario`.
        params: overrides the scenario's parameters (calibration, sweeps).
        seeds: one `numpy.random.SeedSequence` (or int) per replicate; default: replicate 0 of the scenario's
            seed, ``SeedSequence(seed).spawn(1)[0]``.
        chain: the declared chain of stages (`sim.inputs.chain.DEFAULT_CHAIN`).
        data: registry, national series and supply data (default: the project's data files).
        firm_detail: keep per-firm yearly tables for the first this many replicates.
        trace: per-firm monthly fields to keep in `monthly` (``unit_cost``, ``prices``, ``margin``, ``offers``,
            ``quantity``, ``available``), for inspection and tests; empty in production runs.
    """

    def __init__(
        self,
        scenario: Scenario,
        params=None,
        seeds=None,
        *,
        chain: Chain = DEFAULT_CHAIN,
        data: ModelData | None = None,
        firm_detail: int = 0,
        trace: tuple[str, ...] = (),
    ) -> None:
        if seeds is None:
            seeds = np.random.SeedSequence(scenario.seed).spawn(1)
        seeds = [s if isinstance(s, np.random.SeedSequence) else np.random.SeedSequence(s) for s in seeds]
        # Mesa's own generator is seeded from the first replicate; all model randomness comes from `streams`
        super().__init__(
            rng=np.random.default_rng(np.random.SeedSequence(seeds[0].entropy, spawn_key=(*seeds[0].spawn_key, 2**31)))
        )
        self.scenario = scenario
        self.params = params if params is not None else scenario.params
        self.chain = chain
        self.data = data if data is not None else default_data()
        self.replicates = len(seeds)
        self.n_months = scenario.n_months
        self.streams = [Streams.spawn(s) for s in seeds]
        self.policy = scenario.policy
        self.market_mode = scenario.price_mode == "market" and chain.supply_stage is not None
        self.demand = scenario.monthly_demand()
        self.quote_path = self._price_paths()  # (R, T) yuan/t incl. VAT; used as the price in path mode
        self.events: dict[int, list[Event]] = defaultdict(list)
        self.books: dict[str, FirmBook] = {}
        self._entrants: dict[str, tuple[np.ndarray, object]] = {}
        self._next_entrant: dict[str, np.ndarray] = {}
        for stage in chain.firm_stages:
            self.books[stage.key] = self._build_stage(stage)
            firm_type(stage.key).create_agents(
                self,
                len(self.books[stage.key].columns),
                self.books[stage.key],
                list(range(len(self.books[stage.key].columns))),
            )
        self.world: WorldMarket | None = None
        if self.market_mode:
            book = SupplyBook.create(self.data.supply, self.n_months, self.replicates)
            self.world = WorldMarket(book, scenario, self.params, self.replicates)
            Producer.create_agents(self, len(book.cohorts), book, list(range(len(book.cohorts))))
            self._add_supply_projects()
        # market state carried between months
        ref = self.params.reference_utilization
        self.tightness = {stage.key: np.full(self.replicates, ref) for stage in chain.firm_stages}
        self.sodium_share = np.zeros(self.replicates)  # of storage cell demand
        self.smoothed_quote = self.quote_path[:, 0].copy()
        self.last_cell_ratio = np.ones(self.replicates)  # cell price / cell price at the reference carbonate
        self.forwards: dict[int, np.ndarray] = {}  # delivery month -> forward carbonate price, yuan/t excl. VAT
        self.recorder = Recorder(self.books, self.replicates, firm_detail)
        self.guard = guard.Guard()  # every month's prices and quantities, every year's accounts
        self.record: BatchRecord | None = None
        self.trace = tuple(trace)
        self.monthly: dict[str, dict[str, list[np.ndarray]]] = {key: defaultdict(list) for key in self.books}

    # ----------------------------------------------------------------------------------------------------------
    # set-up
    # ----------------------------------------------------------------------------------------------------------
    def _price_paths(self) -> np.ndarray:
        """The scenario's carbonate path times each replicate's AR(1) log shocks, (R, T) yuan/t incl. VAT."""
        sc = self.scenario
        path = sc.price_path()
        eps = np.stack([s.shocks.standard_normal(sc.n_months) for s in self.streams])
        shock = np.zeros_like(eps)
        if sc.volatility > 0:
            for t in range(sc.shocks_from, sc.n_months):
                prev = shock[:, t - 1] if t > sc.shocks_from else 0.0
                shock[:, t] = sc.persistence * prev + sc.volatility * eps[:, t]
        self.price_shock = shock
        return path[None, :] * np.exp(shock)

    def _initial_state(self, stage: Stage, capacity: np.ndarray) -> dict[str, np.ndarray]:
        p = self.params
        capital = capacity * p.of(stage, "capex") * p.initial_plant_age_share
        return {"capital": capital, "debt": capital * p.initial_debt_share, "cash": capital * p.initial_cash_share}

    def _build_stage(self, stage: Stage) -> FirmBook:
        """Columns of a stage (registry, projects, synthetic firms, entrant slots) and their initial state."""
        p, R = self.params, self.replicates
        registry = [f for f in self.data.registry if f.segment == stage.key]
        projects = [pr for pr in self.policy.projects if pr.segment == stage.key]
        n_synth = int(p.of(stage, "synthetic_firms"))
        n_slots = int(p.of(stage, "entrant_slots"))
        columns = Columns(
            firm_id=[f.firm_id for f in registry]
            + [_slug(pr.name) for pr in projects]
            + [f"{stage.key}_{i:04d}" for i in range(n_synth)]
            + [f"{stage.key}_entrant_{i:04d}" for i in range(n_slots)],
            name=[f.name for f in registry]
            + [pr.name for pr in projects]
            + [f"{stage.label()} firm {i}" for i in range(n_synth)]
            + [f"{stage.label()} entrant {i}" for i in range(n_slots)],
            role=["registry"] * len(registry)
            + ["project"] * len(projects)
            + ["synthetic"] * n_synth
            + ["entrant"] * n_slots,
            suining=np.array([True] * (len(registry) + len(projects)) + [False] * (n_synth + n_slots)),
            listed_parent=np.array(
                [f.listed_parent for f in registry]
                + [pr.listed_parent for pr in projects]
                + [False] * (n_synth + n_slots)
            ),
            tier=["suining"] * (len(registry) + len(projects))
            + self._tier_names(stage, n_synth)
            + ["entrant"] * n_slots,
        )
        book = FirmBook.empty(stage, columns, R)
        book.labour[:] = p.of(stage, "labour")
        book.utilization_q[:] = p.reference_utilization
        book.utilization_y[:] = p.reference_utilization
        factor = p.of(stage, "suining_cost_factor")
        integrated = stage.key == "lithium_salt"

        # Suining's registered plants
        for j, firm in enumerate(registry):
            cap0 = firm.capacity_at(0)
            book.capacity[:, j] = cap0
            book.active[:, j] = True
            # the cost of the plant's group (its national tier) times Suining's own location factor
            own = factor * self.data.tier_cost_factor(firm)
            book.conversion_cost[:, j] = p.of(stage, "conversion_cost") * own
            book.energy_cost[:, j] = p.of(stage, "energy_cost") * own
            if firm.owns_feedstock and integrated:
                book.owns_feedstock[:, j] = True
                book.own_feedstock_cost[:, j] = p.own_feedstock_cost_mean
            for name, value in self._initial_state(stage, np.full(R, cap0)).items():
                getattr(book, name)[:, j] = value
            for online, amount in firm.tranches:
                if online > 0 and amount > 0:
                    self._schedule_plant(stage, np.arange(R), np.full(R, j), np.full(R, float(amount)), online)

        # the scenario's project pipeline (招商引资): each built with its probability, one draw per replicate
        offset = len(registry)
        all_projects = self.policy.projects
        if all_projects:
            draws = np.stack([s.projects.random(len(all_projects)) for s in self.streams])
            for i, pr in enumerate(all_projects):
                if pr.segment != stage.key:
                    continue
                j = offset + projects.index(pr)
                built = draws[:, i] < pr.probability
                book.active[:, j] = built
                book.conversion_cost[:, j] = p.of(stage, "conversion_cost") * factor
                book.energy_cost[:, j] = p.of(stage, "energy_cost") * factor
                if pr.owns_feedstock and integrated:
                    book.owns_feedstock[:, j] = True
                    book.own_feedstock_cost[:, j] = p.own_feedstock_cost_mean
                rows = np.flatnonzero(built)
                self._schedule_plant(
                    stage, rows, np.full(len(rows), j), np.full(len(rows), pr.capacity), max(pr.online, 0)
                )

        # the synthetic rest of China, sized so national capacity follows the data at the end of 2021-2023
        start = offset + len(projects)
        synth = slice(start, start + n_synth)
        national = self.data.national[stage.national["capacity"]]
        draws = [draw_population(s.population, n_synth) for s in self.streams]
        attrs = firm_attributes(
            stack(draws), p, p.of(stage, "conversion_cost"), p.of(stage, "energy_cost"), integrated, p.firm_size_sd
        )
        # tiers: each holds its share of the synthetic capacity, at its own processing cost
        tier_of = np.array(columns.tier[synth])
        sizes = attrs["size"].copy()
        for tier in self._tiers(stage):
            members = tier_of == tier.tier
            # a masked sum over the full, C-ordered row: sums over fancy-indexed columns are not C-ordered, and
            # their result would depend on how many replicates share the batch
            total = np.where(members, sizes, 0.0).sum(axis=-1, keepdims=True)
            sizes[:, members] = (sizes / total * tier.capacity_share)[:, members]
            attrs["conversion_cost"][:, members] *= tier.cost_factor
            attrs["energy_cost"][:, members] *= tier.cost_factor

        def suining_capacity(month: int) -> float:
            return sum(f.capacity_at(month) for f in registry)

        capacity = sizes * max(national[2021] - suining_capacity(0), 0.0)
        book.capacity[:, synth] = capacity
        book.active[:, synth] = True
        for name in ("conversion_cost", "energy_cost", "owns_feedstock", "own_feedstock_cost"):
            getattr(book, name)[:, synth] = attrs[name]
        for name, value in self._initial_state(stage, capacity).items():
            getattr(book, name)[:, synth] = value
        # capacity built in 2022 and 2023 is history: the data's growth net of Suining's registered tranches,
        # in tranches to size-weighted random firms and months; firms' own orders arrive from
        # `first_endogenous_arrival` on, so the two never count the same plants twice
        for year, prev in ((2022, 2021), (2023, 2022)):
            first, last = (year - BASE_YEAR) * 12, (year - BASE_YEAR) * 12 + 11
            added_here = suining_capacity(last) - suining_capacity(first - 1 if first > 0 else 0)
            increment = max(national[year] - national[prev] - added_here, 0.0)
            n_tranches = max(n_synth // 4, 1)
            rows, cols, amounts, months = [], [], [], []
            for r, s in enumerate(self.streams):
                who = s.population.choice(n_synth, size=n_tranches, p=sizes[r] / sizes[r].sum())
                when = s.population.integers(first, last + 1, size=n_tranches)
                rows.append(np.full(n_tranches, r))
                cols.append(start + who)
                amounts.append(s.population.dirichlet(np.ones(n_tranches)) * increment)
                months.append(np.maximum(when, 1))
            rows, cols, amounts, months = map(np.concatenate, (rows, cols, amounts, months))
            for m in np.unique(months):
                sel = months == m
                self.events[int(m)].append(Event(stage.key, rows[sel], cols[sel], amounts[sel], "arrive_financed"))

        # entrants: slots at the end, their variates drawn now from each replicate's entry stream
        quarters = self.n_months // 3 + 1
        pre = [draw_entrants(s.entry, quarters, self.params.max_entrants_per_quarter) for s in self.streams]
        self._entrants[stage.key] = (np.stack([u for u, _ in pre]), stack([d for _, d in pre]))
        self._next_entrant[stage.key] = np.zeros(R, dtype=int)
        self._entrant_start = getattr(self, "_entrant_start", {})
        self._entrant_start[stage.key] = start + n_synth
        return book

    def _tiers(self, stage: Stage) -> list:
        """The stage's tiers (tiers.csv), or one tier of all firms."""
        from sim.inputs.data import Tier

        return self.data.tiers.get(stage.key) or [Tier(stage.key, "all", 1.0, 1.0, 1.0)]

    def _tier_names(self, stage: Stage, n: int) -> list[str]:
        """Tier of each of ``n`` synthetic firms: round(firm_share x n) firms per tier, at least one each."""
        tiers = self._tiers(stage)
        counts = [max(int(round(t.firm_share * n)), 1) for t in tiers]
        counts[-1] = n - sum(counts[:-1])
        if counts[-1] < 1:
            raise ValueError(f"{stage.key}: too few synthetic firms ({n}) for {len(tiers)} tiers")
        return [t.tier for t, c in zip(tiers, counts, strict=True) for _ in range(c)]

    def _schedule_plant(
        self, stage: Stage, rows: np.ndarray, cols: np.ndarray, amount: np.ndarray, online: int
    ) -> None:
        """A registry or pipeline plant: capex counted as investment over its construction lag before it comes
        online (the part within the run), financed (loans for part) when it does."""
        if len(rows) == 0:
            return
        if online <= 0:
            self.events[0].append(Event(stage.key, rows, cols, amount, "arrive_financed"))
            return
        lag = max(int(round(self.params.of(stage, "construction_lag"))), 1)
        funded = amount * self.params.of(stage, "capex") / lag
        zero = np.zeros_like(amount)
        first_spend = online - lag
        if first_spend >= 0:
            self.events[first_spend].append(Event(stage.key, rows, cols, zero, "spend", zero, funded))
        elif online > 0:
            self.events[0].append(Event(stage.key, rows, cols, zero, "spend", zero, funded))
        self.events[online].append(Event(stage.key, rows, cols, zero, "spend", zero, -funded))
        self.events[online].append(Event(stage.key, rows, cols, amount, "arrive_financed"))

    def _add_supply_projects(self) -> None:
        """Announced supply projects: built with their probability (the scenario may override it by cohort or
        resource), online after the announced month plus the usual delay."""
        world = self.world
        assert world is not None
        projects = self.data.supply.projects
        if not projects:
            return
        draws = np.stack([s.supply.random(len(projects)) for s in self.streams])
        overrides = self.scenario.project_probability
        for i, pr in enumerate(projects):
            col = world.book.index(pr.cohort)
            resource = world.book.cohorts[col].resource
            prob = overrides.get(pr.cohort, overrides.get(resource, pr.probability))
            rows = np.flatnonzero(draws[:, i] < prob)
            month = max(pr.online + int(round(self.params.project_lag_months)), 0)
            self.events[month].append(
                Event("lithium_supply", rows, np.full(len(rows), col), np.full(len(rows), pr.capacity), "arrive")
            )

    # ----------------------------------------------------------------------------------------------------------
    # the monthly step
    # ----------------------------------------------------------------------------------------------------------
    def step(self) -> None:
        """One month for every replicate of the batch (see the module docstring for the order)."""
        t = self.steps - 1
        p = self.params
        self._bring_online(t)
        policy.monthly_factors(self.policy, self.books, t)
        relief = policy.tax_relief(self.policy, self.books, t)
        learn = (1.0 - p.cost_learning_rate) ** (t / 12.0)

        # carbonate prices are quoted incl. 13% VAT (the spot quotes of the scenario); the accounts, like 产值,
        # are excl. VAT
        quote = self.world.price if self.world is not None else self.quote_path[:, t]
        carbonate = quote / (1.0 + p.vat_rate)
        drivers = self._drivers(t, quote)
        prices, materials = self._price_pass(carbonate, drivers, learn)
        self._cell_ratio(t, prices, drivers, learn)

        # every firm's cost, margin and offer
        state = {}
        for stage in self.chain.firm_stages:
            state[stage.key] = self._offers(stage, prices[stage.key], materials[stage.key], learn, t)
        offers = {key: s["offers"].sum(axis=-1) for key, s in state.items()}
        flows = self._chain_quantities(drivers, offers, t)
        self.guard.month(t, quote, prices, drivers, flows)

        for stage in self.chain.firm_stages:
            self._produce(stage, state[stage.key], flows, relief.get(stage.key), t)
        self._record_month(t, quote, prices, drivers, flows)

        if t % 12 == 11:
            self._year_end(t)
        if t % 3 == 2:
            for stage in self.chain.firm_stages:
                self._invest(stage, t, prices[stage.key])
                self._enter(stage, t, prices[stage.key])
            if self.world is not None and t >= p.mine_decisions_from:
                self._expand_supply(t)
        if t >= self.n_months - 1:
            self.running = False

    # --- 1. capacity --------------------------------------------------------------------------------------------
    def _bring_online(self, t: int) -> None:
        p = self.params
        for book in self.books.values():
            book.advance_ramp()
        if self.world is not None:
            self.world.book.advance_ramp()
        for event in self.events.pop(t, []):
            if event.stage == "lithium_supply":
                if self.world is not None:
                    self.world.book.add(event.rows, event.cols, event.amount, p.ramp_up_months)
                continue
            book = self.books[event.stage]
            stage = self.chain[event.stage]
            if event.kind == "spend":
                for name, rate in (
                    ("capex_rate", event.amount),
                    ("subsidy_rate", event.subsidy),
                    ("funded_rate", event.funded),
                ):
                    if rate is None or not rate.any():
                        continue
                    target = getattr(book, name)
                    np.add.at(target, (event.rows, event.cols), rate)
                    # rates go up and down by the same amounts; clear the rounding left when they end
                    target[target < 1e-6 * np.abs(rate).max()] = 0.0
                continue
            # a firm that exited before its plant was finished abandons it
            alive = book.active[event.rows, event.cols]
            rows, cols, amount = event.rows[alive], event.cols[alive], event.amount[alive]
            book.add_capacity(rows, cols, amount, p.ramp_up_months)
            value = amount * p.of(stage, "capex")
            np.add.at(book.capital, (rows, cols), value)
            if event.kind == "arrive_financed":  # loans for part, the government's capex subsidy if any
                np.add.at(book.debt, (rows, cols), value * p.new_plant_debt_share * book.capex_factor[rows, cols])

    # --- 3. demand ----------------------------------------------------------------------------------------------
    def _drivers(self, t: int, quote: np.ndarray) -> dict[str, np.ndarray]:
        """This month's demand drivers, (R,) each: scenario demand, the price response, sodium-ion."""
        p, d = self.params, self.demand
        R = self.replicates
        self.smoothed_quote = self.smoothed_quote + (quote - self.smoothed_quote) / p.sodium_price_smoothing_months
        if t >= p.sodium_from and p.sodium_max_share > 0:
            above = self.smoothed_quote > p.sodium_threshold
            step = p.sodium_adoption_rate / 12.0
            self.sodium_share = np.clip(self.sodium_share + np.where(above, step, -step), 0.0, p.sodium_max_share)
        storage = d["storage_share"][t]
        cells = d["battery_gwh"][t]
        if t >= p.demand_response_from:
            ratio = self.last_cell_ratio
            ev = (1.0 - storage) * ratio**p.demand_elasticity_ev
            st = storage * ratio**p.demand_elasticity_storage
        else:
            ev, st = np.full(R, 1.0 - storage), np.full(R, storage)
        out = {name: np.full(R, float(series[t])) for name, series in d.items()}
        out["battery_gwh"] = cells * (ev + st * (1.0 - self.sodium_share))
        out["sodium_gwh"] = cells * st * self.sodium_share
        return out

    # --- 4. prices ----------------------------------------------------------------------------------------------
    def _price_pass(
        self, carbonate: np.ndarray, drivers: dict[str, np.ndarray], learn: float, with_fee: bool = True
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Each stage's price and materials cost per unit (yuan, excl. VAT), upstream first."""
        p = self.params
        prices: dict[str, np.ndarray] = {}
        materials: dict[str, np.ndarray] = {}
        zero = np.zeros(self.replicates)
        for stage in self.chain:
            other = p.of(stage, "other_inputs") * learn if stage.agents == "firms" else 0.0
            fee = zero
            if stage.price_rule in market.FEE_RULES and with_fee:
                fee = market.processing_fee(
                    getattr(p, f"processing_fee_{stage.suffix}") * learn,
                    self.tightness[stage.key],
                    p.reference_utilization,
                    p.fee_utilization_elasticity,
                    p.scarcity_elasticity,
                    p.max_scarcity_multiple,
                )
            inp = market.PriceInputs(
                carbonate=carbonate,
                upstream=prices,
                intensities={i.stage: getattr(p, i.intensity.name) for i in stage.inputs},
                shares={i.stage: (drivers[i.share] if i.share else np.ones(self.replicates)) for i in stage.inputs},
                other_inputs=other,
                fee=fee,
                params=p,
            )
            prices[stage.key] = market.PRICE_RULES[stage.price_rule](inp)
            materials[stage.key] = (
                prices[stage.key] - fee if stage.price_rule in market.FEE_RULES else (market.input_cost(inp) + other)
            )
        return prices, materials

    # --- 5. offers ----------------------------------------------------------------------------------------------
    def _offers(self, stage: Stage, price: np.ndarray, materials: np.ndarray, learn: float, t: int) -> dict:
        p = self.params
        book = self.books[stage.key]
        kind = firm_type(stage.key)
        energy = book.energy_cost * book.energy_factor * book.grade_factor
        processing = (book.conversion_cost + energy) * book.cost_factor * learn
        input_cost = kind.input_cost(book, materials, p)
        unit_cost = input_cost + processing
        prices = self._realised_prices(stage, price, t)
        margin = (prices - unit_cost) / prices
        available = book.available()
        offers = kind.offers(book, available, margin, p)
        weights = market.logit_weights(
            offers, kind.controllable_cost(book, input_cost, processing), p.competitiveness_elasticity
        )
        return {
            "unit_cost": unit_cost,
            "prices": prices,
            "margin": margin,
            "available": available,
            "offers": offers,
            "weights": weights,
        }

    def _realised_prices(self, stage: Stage, price: np.ndarray, t: int) -> np.ndarray:
        """The price each firm receives, (R, N): the market's, except Suining salt sold forward (hedging)."""
        book = self.books[stage.key]
        prices = np.broadcast_to(price[:, None], book.shape)
        if stage.key != "lithium_salt":
            return prices
        share, horizon, cost = policy.hedge_terms(self.policy, self.params)
        start = self.policy.start("hedging")
        if share <= 0 or t < start:
            return prices
        # sell forward now for delivery in `horizon` months at the expected price
        self.forwards[t + horizon] = self._forward_price(t, horizon, price)
        due = self.forwards.pop(t, None)
        if due is None:  # contracts sold from the start month deliver from start + horizon
            return prices
        hedged = (1.0 - share) * price + share * due * (1.0 - cost)
        return np.where(book.suining, hedged[:, None], prices)

    def _forward_price(self, t: int, horizon: int, spot: np.ndarray) -> np.ndarray:
        """The futures price for delivery in ``horizon`` months: what the market expects then, given now.

        Path mode: the scenario's path at delivery times the expected part of today's AR(1) shock. Market mode:
        the price moving from today's toward today's clearing price at the market's adjustment speed. Either
        way it uses no information from after the sale, so hedging cannot raise the mean price received.
        """
        sc = self.scenario
        if self.world is None:
            path = sc.price_path() / (1.0 + self.params.vat_rate)
            later = min(t + horizon, self.n_months - 1)
            expected_shock = sc.persistence**horizon * self.price_shock[:, t]
            return path[later] * np.exp(expected_shock)
        p = self.params
        target = self.world.last_target / (1.0 + p.vat_rate)
        closed = 1.0 - (1.0 - p.price_adjustment) ** horizon
        return spot * (target / spot) ** closed

    # --- 6. quantities along the chain --------------------------------------------------------------------------
    def _chain_quantities(
        self, drivers: dict[str, np.ndarray], offers: dict[str, np.ndarray], t: int
    ) -> dict[str, dict[str, np.ndarray]]:
        """Demand up the chain, deliveries down it (u/month per replicate, by stage).

        For each stage s, downstream first: gross demand ``G_s = d_s + sum_b a_b sigma_b G_b`` (what final
        demand implies), addressed demand ``A_s = d_s + sum_b a_b sigma_b Q_b`` (what its buyers ask, given
        their own capacity) and request ``Q_s = min(A_s, offers_s)``. Upstream first, the share of what is
        addressed to s that it delivers: ``delta_s = Q_s / A_s x min_u (1 - sigma_u + sigma_u delta_u)`` over
        its inputs u (for world supply: served / demand). Output, downstream first: ``X_s = delta_s d_s +
        sum_b a_b sigma_b Q_b m_b`` with ``m_b = min_u delta_u`` over b's inputs; unmet demand ``A_s - X_s``.
        Material balances hold exactly: what b buys from s is ``a_b`` times b's output that uses s.
        """
        chain = self.chain
        zero = np.zeros(self.replicates)

        def share(inp) -> np.ndarray:
            return drivers[inp.share] if inp.share else np.ones(self.replicates)

        def intensity(inp) -> float:
            return getattr(self.params, inp.intensity.name)

        final = {
            s.key: (drivers[s.final_demand] if s.final_demand and (s.agents == "firms" or self.world) else zero)
            for s in chain
        }
        gross, addressed, request = {}, {}, {}
        for stage in reversed(chain.stages):
            buyers = chain.buyers(stage.key)
            gross[stage.key] = final[stage.key] + sum((intensity(i) * share(i) * gross[b.key] for b, i in buyers), zero)
            addressed[stage.key] = final[stage.key] + sum(
                (intensity(i) * share(i) * request[b.key] for b, i in buyers), zero
            )
            cap = offers.get(stage.key)
            request[stage.key] = addressed[stage.key] if cap is None else np.minimum(addressed[stage.key], cap)

        delivered, supply_month = {}, None
        for stage in chain:
            if stage.agents == "cohorts":
                if self.world is not None:
                    # the price answers to the demand for salts, uncapped by converters' own capacity
                    wanted = final[stage.key] + sum(
                        (intensity(i) * share(i) * addressed[b.key] for b, i in chain.buyers(stage.key)), zero
                    )
                    supply_month = self.world.step(t, addressed[stage.key], wanted)
                    delivered[stage.key] = np.divide(
                        supply_month.served,
                        addressed[stage.key],
                        out=np.ones(self.replicates),
                        where=addressed[stage.key] > 0,
                    )
                else:
                    delivered[stage.key] = np.ones(self.replicates)
                continue
            inputs = [1.0 - share(i) + share(i) * delivered[i.stage] for i in stage.inputs]
            available = np.minimum.reduce(inputs) if inputs else np.ones(self.replicates)
            own = np.divide(
                request[stage.key], addressed[stage.key], out=np.ones(self.replicates), where=addressed[stage.key] > 0
            )
            delivered[stage.key] = own * available

        output = {}
        for stage in reversed(chain.stages):
            buyers = chain.buyers(stage.key)
            if stage.agents == "cohorts" and supply_month is not None:
                output[stage.key] = supply_month.served
                continue
            used = zero
            for buyer, inp in buyers:
                m = np.minimum.reduce([delivered[i.stage] for i in buyer.inputs])
                used = used + intensity(inp) * share(inp) * request[buyer.key] * m
            if buyers:
                output[stage.key] = delivered[stage.key] * final[stage.key] + used
            else:
                inputs = [1.0 - share(i) + share(i) * delivered[i.stage] for i in stage.inputs]
                output[stage.key] = request[stage.key] * (np.minimum.reduce(inputs) if inputs else 1.0)
        unmet = {key: np.maximum(addressed[key] - output[key], 0.0) for key in output}
        return {
            "gross": gross,
            "addressed": addressed,
            "request": request,
            "output": output,
            "unmet": unmet,
            "final": final,
            "supply": supply_month,
        }

    # --- 7. production and accounts -----------------------------------------------------------------------------
    def _produce(self, stage: Stage, st: dict, flows: dict, relief: np.ndarray | None, t: int) -> None:
        p = self.params
        book = self.books[stage.key]
        kind = firm_type(stage.key)
        quantity = market.allocate(flows["output"][stage.key], st["offers"], st["weights"])
        available = st["available"]
        for name in self.trace:
            self.monthly[stage.key][name].append(np.array(quantity if name == "quantity" else st[name]))
        util = np.divide(quantity * 12.0, available, out=np.zeros(book.shape), where=available > 0)
        employment = book.labour * book.capacity * (p.labour_fixed_share + (1 - p.labour_fixed_share) * util)
        subsidy = relief if relief is not None else 0.0
        investment = book.capex_rate + book.subsidy_rate + book.funded_rate  # spent on plant this month, all sources
        acc = firm_accounts(
            quantity,
            st["prices"],
            st["unit_cost"],
            employment,
            book.capital,
            book.debt,
            book.vat_credit,
            annual_wage=p.annual_wage,
            depreciation_years=p.depreciation_years,
            interest_rate=p.interest_rate,
            vat_rate=p.vat_rate,
            surcharge_rate=p.surcharge_rate,
            income_tax_rate=p.income_tax_rate,
            subsidy=subsidy,
            investment=investment,
        )
        book.vat_credit = acc.vat_credit
        book.capital = book.capital - acc.depreciation  # declining balance
        operating = acc.net_income + acc.depreciation
        book.cash, book.debt = finance(book.cash, book.debt, operating - book.capex_rate)
        book.utilization = util
        book.utilization_q = book.utilization_q + (util - book.utilization_q) / 3.0
        book.utilization_y = book.utilization_y + (util - book.utilization_y) / 12.0
        if t == 0:
            book.expected_margin = st["margin"].copy()
            book.margin_year = st["margin"].copy()

        weights = st["weights"]
        total_w = weights.sum(axis=-1, keepdims=True)
        unmet = flows["unmet"][stage.key][:, None] * np.divide(
            weights, total_w, out=np.zeros(book.shape), where=total_w > 0
        )
        support = book.subsidy_rate + (relief if relief is not None else 0.0)
        self.recorder.add(
            stage.key,
            output=acc.output,
            output_value=acc.output_value,
            intermediate=acc.intermediate,
            value_added=acc.value_added,
            wages=acc.wages,
            depreciation=acc.depreciation,
            vat=acc.vat,
            surcharges=acc.surcharges,
            income_tax=acc.income_tax,
            profit=acc.profit,
            interest=acc.interest,
            support=support,
            investment=investment,
            unmet=unmet,
            employment=acc.employment,
            available=available,
            installed=book.capacity,
        )

        active_now = book.active.copy()  # the firms that lived through this month (a benchmark's unit of work)
        idle_now, exit_now = kind.update_after_month(book, st["margin"], operating, p)
        if book.columns.listed_parent.any():  # a listed parent's finance keeps its plant going
            backed = book.debt <= book.cash + p.liquidation_value * book.capital + self._parent_credit(stage)
            exit_now = exit_now & ~(backed & book.columns.listed_parent)
        book.idle = (book.idle & ~(st["margin"] > 0.0)) | idle_now
        book.close(exit_now)
        self.recorder.count(f"exits_{stage.key}", exit_now)
        self.recorder.count(f"firm_months_{stage.key}", active_now)
        total_available = np.where(book.active, available, 0.0).sum(axis=-1) / 12.0
        self.tightness[stage.key] = np.divide(
            flows["addressed"][stage.key], total_available, out=np.ones(self.replicates), where=total_available > 0
        )

    def _parent_credit(self, stage: Stage) -> np.ndarray:
        book = self.books[stage.key]
        return np.where(book.columns.listed_parent, self.params.parent_credit_share * book.capital, 0.0)

    def _record_month(self, t: int, quote: np.ndarray, prices: dict, drivers: dict, flows: dict) -> None:
        values = {
            "carbonate_quote": quote,
            "sodium_share": self.sodium_share.copy(),
            "sodium_gwh": drivers["sodium_gwh"],
            "lfp_share": drivers["lfp_share"],
        }
        for stage in self.chain:
            key = stage.key
            values[f"price_{key}"] = prices[key]
            for name in ("gross", "addressed", "request", "output", "unmet", "final"):
                values[f"{name}_{key}"] = flows[name][key]
        supply = flows["supply"]
        if supply is not None:
            for name in (
                "production",
                "released",
                "demand",
                "served",
                "unmet",
                "inventory",
                "capacity",
                "curtailed",
                "marginal_cost",
            ):
                values[f"world_{name}"] = getattr(supply, name)
            self.recorder.cohort_month(
                production=supply.by_cohort,
                capacity=self.world.book.capacity(t) / 12.0,
                running=self.world.book.running / 12.0,
            )
        self.recorder.month(**values)

    def _cell_ratio(self, t: int, prices: dict, drivers: dict, learn: float) -> None:
        """The cell price relative to its value at the reference carbonate price, both at this month's fees
        (computed before the month's trade moves them): next month's demand response."""
        p = self.params
        if t + 1 >= p.demand_response_from:
            ref = np.full(self.replicates, p.reference_carbonate_price / (1.0 + p.vat_rate))
            ref_prices, _ = self._price_pass(ref, drivers, learn)
            cells = self.chain.keys[-1]
            self.last_cell_ratio = prices[cells] / ref_prices[cells]

    # --- 8. the year's end and the quarter ----------------------------------------------------------------------
    def _year_end(self, t: int) -> None:
        """December: VAT credit refunds (留抵退税) and the land-efficiency review (亩均论英雄)."""
        for key, refund in policy.vat_refunds(self.policy, self.books, t).items():
            self.recorder.acc[key]["support"] += refund
        capex = {key: self.params.of(self.chain[key], "capex") for key in self.books}
        credit = {key: self._parent_credit(self.chain[key]) for key in self.books}
        yearly = {key: self.recorder.year_flows(key) for key in self.books}
        review = policy.land_efficiency(self.policy, self.books, yearly, capex, credit, t)
        grades = {}
        for key, result in review.items():
            self.recorder.acc[key]["support"] += result["support"]
            self.recorder.count("land_upgrades", result["upgraded"])
            self.recorder.count("land_exits", result["exited"])
            grades[key] = result["grade"]
        self.recorder.close_year(grades)
        self.guard.year(t, self.recorder.regional)

    def _lag(self, stage: Stage, t: int) -> np.ndarray:
        """Construction lag in months per firm column; "标准地" land supply shortens it for Suining firms."""
        book = self.books[stage.key]
        lag = np.full(book.shape[1], self.params.of(stage, "construction_lag"))
        if t >= self.policy.start("investment_support"):
            cut = self.policy.value("investment_support", "lag_cut_months")
            lag = np.where(book.suining, np.maximum(lag - cut, 1.0), lag)
        return np.maximum(np.rint(lag), 1).astype(int)

    def _order(
        self,
        stage: Stage,
        rows: np.ndarray,
        cols: np.ndarray,
        amount: np.ndarray,
        lag: np.ndarray,
        t: int,
        borrowed: bool = False,
    ) -> None:
        """Plant ordered now.

        A share ``completion_rate`` of the announced capacity is built, in three equal tranches arriving after
        ``(1 - lag_spread)``, 1 and ``(1 + lag_spread)`` times the construction lag (not before
        `first_endogenous_arrival`). Capex is spent evenly until the last tranche: the firm's share from cash
        and loans, the rest by the government (Suining's capex subsidy, or local incentives elsewhere).
        """
        if len(rows) == 0:
            return
        p = self.params
        book = self.books[stage.key]
        built = amount * p.completion_rate
        cost = built * p.of(stage, "capex")
        local = np.where(book.suining[cols], 1.0, 1.0 - p.local_incentive_share)
        own = cost * local if borrowed else cost * book.capex_factor[rows, cols] * local
        subsidy = cost - own
        spend_months = np.maximum(np.rint(lag * (1.0 + p.lag_spread)), 1).astype(int)
        rate, sub = own / spend_months, subsidy / spend_months
        np.add.at(book.capex_rate, (rows, cols), rate)
        np.add.at(book.subsidy_rate, (rows, cols), sub)
        ends = t + 1 + spend_months
        for month in np.unique(ends):
            sel = ends == month
            self.events[int(month)].append(Event(stage.key, rows[sel], cols[sel], -rate[sel], "spend", -sub[sel]))
        for factor in (1.0 - p.lag_spread, 1.0, 1.0 + p.lag_spread):
            arrive = np.maximum(t + np.maximum(np.rint(lag * factor), 1).astype(int), p.first_endogenous_arrival)
            for month in np.unique(arrive):
                sel = arrive == month
                self.events[int(month)].append(Event(stage.key, rows[sel], cols[sel], built[sel] / 3.0, "arrive"))

    def _invest(self, stage: Stage, t: int, price: np.ndarray) -> None:
        book = self.books[stage.key]
        orders = firm_type(stage.key).plan_investment(book, price, self.params.of(stage, "capex"), self.params)
        rows, cols = np.nonzero(orders > 0)
        self._order(stage, rows, cols, orders[rows, cols], self._lag(stage, t)[cols], t)
        self.recorder.count(f"orders_{stage.key}", (orders > 0))

    def _enter(self, stage: Stage, t: int, price: np.ndarray) -> None:
        """New rest-of-China firms when the stage's expected return on capital clears the hurdle."""
        p = self.params
        book = self.books[stage.key]
        capex = p.of(stage, "capex")
        incumbents = book.active & ~book.suining & (book.capacity > 0)
        if p.entry_rate <= 0 or not incumbents.any():
            return
        weights = np.where(incumbents, book.capacity, 0.0)
        total = weights.sum(axis=-1)
        returns = firm_type(stage.key).expected_return(book, price, capex, p)
        mean_return = np.divide(
            np.where(incumbents, weights * returns, 0.0).sum(axis=-1),
            total,
            out=np.zeros(self.replicates),
            where=total > 0,
        )
        excess = mean_return - p.entrant_hurdle
        rate = np.where(excess > 0, p.entry_rate * np.minimum(excess, p.entry_excess_cap) / 0.1, 0.0)
        u_count, draws = self._entrants[stage.key]
        q = t // 3
        n = np.where(rate > 0, stats.poisson.ppf(u_count[:, q], np.maximum(rate, 1e-12)), 0).astype(int)
        slots = len(book.columns) - self._entrant_start[stage.key]
        free = slots - self._next_entrant[stage.key]
        most = p.max_entrants_per_quarter
        allowed = np.minimum(np.minimum(n, most), free)  # the quarter's bound, and the columns left
        self.recorder.count(f"entry_blocked_{stage.key}", n - allowed)
        n = allowed
        if not n.any():
            return
        k = np.arange(most)
        rows, ks = np.nonzero(k[None, :] < n[:, None])
        cols = self._entrant_start[stage.key] + self._next_entrant[stage.key][rows] + ks
        self._next_entrant[stage.key] = self._next_entrant[stage.key] + n
        quarter = type(draws)(*(getattr(draws, f)[:, q, :] for f in ("size", "cost", "energy", "owns", "own_cost")))
        attrs = firm_attributes(
            quarter,
            p,
            p.of(stage, "conversion_cost"),
            p.of(stage, "energy_cost"),
            stage.key == "lithium_salt",
            p.entrant_size_sd,
        )
        median = market.row_median(book.capacity, incumbents)
        size = median[rows] * attrs["size"][rows, ks]
        expected = np.divide(
            np.where(incumbents, weights * book.expected_margin, 0.0).sum(axis=-1),
            total,
            out=np.zeros(self.replicates),
            where=total > 0,
        )
        book.active[rows, cols] = True
        for name in ("conversion_cost", "energy_cost", "owns_feedstock", "own_feedstock_cost"):
            getattr(book, name)[rows, cols] = attrs[name][rows, ks]
        book.expected_margin[rows, cols] = expected[rows]
        book.margin_year[rows, cols] = expected[rows]
        book.capex_factor[rows, cols] = 1.0
        self._order(stage, rows, cols, size, self._lag(stage, t)[cols], t, borrowed=True)
        self.recorder.count(f"entrants_{stage.key}", n)

    def _expand_supply(self, t: int) -> None:
        world = self.world
        orders = world.expansion(t)
        rows, cols = np.nonzero(orders > 0)
        if len(rows) == 0:
            return
        month = t + int(round(self.params.mine_construction_lag))
        self.events[month].append(Event("lithium_supply", rows, cols, orders[rows, cols], "arrive"))

    # ----------------------------------------------------------------------------------------------------------
    def run(self, months: int | None = None) -> BatchRecord:
        """Step through every month of the scenario (or the first ``months``, a whole number of years: the
        random inputs of the whole run are drawn at the start, so the months stepped are exactly those of a
        full run); return the batch's record."""
        if months is None:
            self.run_model()
        else:
            if months % 12 or not 12 <= months <= self.n_months:
                raise ValueError(f"months must be whole years within the run, got {months}")
            while self.steps < months:
                self.step()
        years = self.scenario.years[: self.steps // 12]
        cohorts = [c.cohort for c in self.world.book.cohorts] if self.world is not None else []
        self.record = self.recorder.finish(
            years,
            cohorts,
            "market" if self.market_mode else "path",
            params=self.params,
            city=self.data.city,
            city_growth=(self.scenario.city_other_growth, self.scenario.city_deflator),
        )
        return self.record


def release(model: mesa.Model) -> None:
    """Drop Mesa 3.3's class-level reference to a finished model so it can be garbage collected.

    Mesa 3.3 keeps every model ever created alive through ``mesa.Agent._ids`` (upstream issue #3179, fixed
    after 3.3); this private attribute is why ``mesa`` is pinned below 3.4. The one place the workaround lives.
    """
    model.remove_all_agents()
    mesa.Agent._ids.pop(model, None)


def simulate_batch(
    scenario: Scenario,
    params=None,
    seeds=None,
    *,
    firm_detail: int = 0,
    chain: Chain = DEFAULT_CHAIN,
    data: ModelData | None = None,
    months: int | None = None,
    partial: bool = False,
) -> BatchRecord:
    """Run a batch of replicates (one per seed) and return its record. Pure: same inputs, same outputs.

    ``months`` stops after that many months (whole years), with the same draws as a full run. A number that
    goes wrong stops the batch (`sim.engine.guard.Tripped`); with ``partial`` and one replicate, the record
    keeps the years before the failure and marks it (`sim.engine.guard.partial_record`).
    """
    model = LithiumModel(scenario, params=params, seeds=seeds, chain=chain, data=data, firm_detail=firm_detail)
    try:
        return model.run(months)
    except guard.Tripped as trip:
        if not partial or model.replicates > 1:
            raise
        return guard.partial_record(model, trip, months)
    finally:
        release(model)
        # Mesa keeps ``step`` as a bound method on the instance: a cycle through the model's dict, which would
        # hold the books until a full garbage collection. Emptying the dict frees them now.
        vars(model).clear()


__all__ = ["DAYS_PER_MONTH", "YI", "BatchRecord", "Firm", "LithiumModel", "RegisteredFirm", "release", "simulate_batch"]
