"""The agent-based model of the lithium chain: Suining's named plants, its rival clusters' and a synthetic rest of
China, in one world lithium market, a batch of replicates at once.

`LithiumModel` is a `mesa.Model` whose firm agents (`agents.firm`) keep their state in one `FirmBook` per stage
of the chain, ``(R, N)`` arrays with a row per replicate, and whose world supply cohorts (`agents.producer`)
keep theirs in a `SupplyBook`; the world market runs in both price modes (in path mode the scenario pins its
price). Every plant sits in a cluster (`sim.inputs.clusters`) whose conditions move its costs and whose policy
acts on it. Each monthly step (docs/model.md, "Process overview and scheduling"), for every replicate at once:

1. capacity under construction comes online and ramps up; capex is spent on plant being built; registered salt
   plants take this month's feedstock terms (`_apply_feedstock`);
2. every cluster's policy levers set this month's factors and payments (`sim.engine.policy`);
3. demand drivers: the scenario's demand, cell demand responding to the cell price, sodium-ion substitution;
4. prices, upstream to downstream, each stage by its declared price rule (`sim.engine.market.PRICE_RULES`);
5. stages clear, downstream first: each stage's markup is the least at which its firms offer what is addressed
   to it (`_clearing_markup`); prices are set again with the markups, and every firm's cost, margin and offer;
6. the chain's quantities: demand passed up the chain, what each stage can deliver given its offers and its
   inputs, the world market's month (its clearing in market mode, the supply gap at the pinned price in path
   mode), and what each stage produces (`_chain_quantities`);
7. within each stage demand is split among firms by a logit on controllable cost, capped by offers and by the
   buyers' largest share per supplier; every firm's accounts, finance, expectations, idling and exit. Shares of
   output follow from these rules and the inputs; where they are calibration targets, the parameters behind
   them are fitted (docs/model.md, "What is fitted, what is an input, what is predicted");
8. in December the year-end levers (VAT refunds, the land-efficiency review); each quarter investment by
   incumbents and entry, each new plant placed in the cluster it picks (`sim.engine.location`), and the
   expansion of supply cohorts.

Every kernel is vectorised over replicates and firms; each replicate draws from its own spawned streams, so a
replicate's results do not depend on its batch.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import mesa
import numpy as np
from scipy import stats

from agents.book import Columns, FirmBook
from agents.decisions import offer_share
from agents.firm import Firm, firm_type
from agents.producer import Producer
from sim.engine import guard, location, market, policy
from sim.engine.accounting import finance, firm_accounts
from sim.engine.location import Sites, sites
from sim.engine.population import (
    Streams,
    draw_entrants,
    draw_population,
    firm_attributes,
    mine_cost_quantile,
    stack,
)
from sim.engine.records import STAGE_FLOWS, WORLD_SERIES, BatchRecord, Recorder
from sim.engine.supply import DAYS_PER_MONTH, SupplyBook, WorldMarket
from sim.inputs.chain import DEFAULT_CHAIN, Chain, Stage
from sim.inputs.clusters import REFERENCE
from sim.inputs.data import ModelData, RegisteredFirm, default_data
from sim.inputs.levers import Policy, parse_policy
from sim.inputs.scenario import Scenario, month_index, month_label
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
        self._entrant_start: dict[str, int] = {}
        self._entrant_sites: dict[str, np.ndarray] = {}
        self._site_draws: dict[str, np.ndarray] = {}
        self._agglomeration: dict[str, tuple[int, np.ndarray]] = {}  # stage -> (month, (R, K) weights)
        self._aggregate_col: dict[str, dict[tuple[int, str], int]] = {}
        self._group_cols: dict[str, list[list[np.ndarray]]] = {}
        self.sites: dict[str, Sites] = {}
        # every cluster's policy: Suining's is the scenario's [policy]; a rival's, its known policies (data) with the
        # scenario's [policy.<cluster>] over them
        self.cluster_policies = self._cluster_policies()
        self._reference = self.data.clusters.index(REFERENCE)
        self._pipeline = [
            (code, project) for code, phases in self.cluster_policies.items() for project in phases[-1][1].projects
        ]
        self._built = self._draw_built()
        for stage in chain.firm_stages:
            self.books[stage.key] = self._build_stage(stage)
            firm_type(stage.key).create_agents(
                self,
                len(self.books[stage.key].columns),
                self.books[stage.key],
                list(range(len(self.books[stage.key].columns))),
            )
        self._draw_project_sites()
        # one world: the supply cohorts, their stocks and curtailment run in both price modes; in path mode the
        # scenario pins the price and the gap between supply and demand at that price shows as stock change and
        # supply gap (docs/model.md, "Submodels: world lithium market")
        self.world: WorldMarket | None = None
        if chain.supply_stage is not None:
            book = SupplyBook.create(
                self.data.supply, self.n_months, self.replicates, self.params.supply_cost_learning_rate
            )
            pinned = None if self.market_mode else self.quote_path
            self.world = WorldMarket(book, scenario, self.params, self.replicates, pinned=pinned)
            Producer.create_agents(self, len(book.cohorts), book, list(range(len(book.cohorts))))
            self._add_supply_projects()
        # market state carried between months
        ref = self.params.reference_utilization
        self.tightness = {stage.key: np.full(self.replicates, ref) for stage in chain.firm_stages}
        self.sodium_share = np.zeros(self.replicates)  # of storage cell demand
        self.smoothed_quote = self.quote_path[:, 0].copy()
        self.last_cell_ratio = np.ones(self.replicates)  # cell price / cell price at the reference carbonate
        # (cluster, delivery month) -> forward carbonate price, yuan/t excl. VAT
        self.forwards: dict[tuple[int, int], np.ndarray] = {}
        self._materials_history: dict[str, list[np.ndarray]] = defaultdict(list)  # market materials price by month
        self.recorder = Recorder(self.books, self.replicates, firm_detail, self.data.clusters.keys)
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

    def _cluster_policies(self) -> dict[int, list[tuple[int, Policy]]]:
        """Each cluster's policies by cluster code (`sim.inputs.clusters`), as ``[(first month, policy in force)]``:
        the home city's is the scenario's own ``[policy]`` throughout; a rival's starts from its known policies
        (``cluster_policies.csv``), and each lever of the scenario's ``[policy.<cluster>]`` replaces the known one
        from that lever's ``from`` month (before it, the known policy still holds: a scenario that changes a rival's
        offer from 2026 leaves its 2022-25 history alone)."""
        clusters = self.data.clusters
        out = {0: [(0, self.policy)]}
        standing = clusters.standing_policies()
        chosen = getattr(self.policy, "clusters", {}) or {}
        for key in clusters.keys[1:]:
            known = {lever: dict(values) for lever, values in standing.get(key, {}).items()}
            own = chosen.get(key)
            if own is None:
                out[clusters.index(key)] = [(0, parse_policy(known, month_index))]
                continue
            table = own.to_table(month_label)
            starts = {lever: max(own.start(lever), 0) for lever in own.settings}
            changes = sorted({0, *starts.values()})
            phases = []
            for month in changes:
                merged = dict(known)
                merged.update({lever: table[lever] for lever, start in starts.items() if start <= month})
                merged.update({k: v for k, v in table.items() if k == "projects"})  # projects carry their own dates
                phases.append((month, parse_policy(merged, month_index)))
            out[clusters.index(key)] = phases
        return out

    def _policies(self, t: int) -> dict[int, Policy]:
        """The policy in force at month ``t`` in each cluster, by cluster code."""
        return {
            code: next(pol for start, pol in reversed(phases) if start <= t)
            for code, phases in self.cluster_policies.items()
        }

    def _draw_built(self) -> dict:
        """Whether each uncertain plant is built in each replicate, drawn once from the replicates' project
        streams: first the registry's announced plants (the data's, the same in every scenario), then the
        scenarios' pipeline projects, so a scenario's pipeline never changes which announced plants get built."""
        out: dict = {}
        uncertain = [f for f in self.data.registry if f.probability < 1.0]
        n = len(uncertain) + len(self._pipeline)
        if n == 0:
            return out
        draws = np.stack([s.projects.random(n) for s in self.streams])
        for i, firm in enumerate(uncertain):
            out[firm.firm_id] = draws[:, i] < firm.probability
        for i, (code, project) in enumerate(self._pipeline):
            out[("project", code, project.name)] = draws[:, len(uncertain) + i] < project.probability
        return out

    def _draw_project_sites(self) -> None:
        """The pipeline projects' location draws, after every other column's (see `_build_stage`)."""
        for key, book in self.books.items():
            projects = np.array([role == "project" for role in book.columns.role])
            if projects.any():
                quarters = self._site_draws[key].shape[1]
                self._site_draws[key][:, :, projects] = np.stack(
                    [s.location.random((quarters, int(projects.sum()), 2)) for s in self.streams]
                )

    def _initial_state(self, stage: Stage, capacity: np.ndarray) -> dict[str, np.ndarray]:
        p = self.params
        capital = capacity * p.of(stage, "capex") * p.initial_plant_age_share  # at the reference's land price
        return {"capital": capital, "debt": capital * p.initial_debt_share, "cash": capital * p.initial_cash_share}

    def _build_stage(self, stage: Stage) -> FirmBook:
        """Columns of a stage and their initial state.

        In order: the registry's named plants (Suining's and the rival clusters', announced ones built with their
        probability), the scenario's pipeline projects, the synthetic rest of China, one column per rival cluster
        and tier for new plants that go there (`sim.engine.location`), and slots for entrants in the rest of China.
        """
        p, R = self.params, self.replicates
        clusters = self.data.clusters
        ref = clusters.index(REFERENCE)
        site = sites(clusters, stage, p)
        self.sites[stage.key] = site
        registry = [f for f in self.data.registry if f.segment == stage.key]
        projects = [(c, pr) for c, pr in self._pipeline if pr.segment == stage.key]
        tiers = self._tiers(stage)
        tier_names = [t.tier for t in tiers] + ["entrant"]
        aggregates = [(c, t) for c in range(len(clusters.keys)) if c != ref and site.allowed[c] for t in tier_names]
        n_synth = int(p.of(stage, "synthetic_firms"))
        n_slots = int(p.of(stage, "entrant_slots"))
        named = list(dict.fromkeys(f.group for f in registry))
        n_other = len(projects) + n_synth + len(aggregates) + n_slots
        cluster = np.array(
            [clusters.index(f.cluster) for f in registry]
            + [c for c, _ in projects]
            + [ref] * n_synth
            + [c for c, _ in aggregates]
            + [ref] * n_slots,
            dtype=int,
        )
        labels = {c: clusters[c].label() for c in clusters.keys}
        columns = Columns(
            firm_id=[f.firm_id for f in registry]
            + [_slug(pr.name) for _, pr in projects]
            + [f"{stage.key}_{i:04d}" for i in range(n_synth)]
            + [f"{stage.key}_{clusters.keys[c]}_{t}" for c, t in aggregates]
            + [f"{stage.key}_entrant_{i:04d}" for i in range(n_slots)],
            name=[f.name for f in registry]
            + [pr.name for _, pr in projects]
            + [f"{stage.label()} firm {i}" for i in range(n_synth)]
            + [f"New {stage.label()} plants in {labels[clusters.keys[c]]} ({t})" for c, t in aggregates]
            + [f"{stage.label()} entrant {i}" for i in range(n_slots)],
            role=["registry"] * len(registry)
            + ["project"] * len(projects)
            + ["synthetic"] * n_synth
            + ["cluster"] * len(aggregates)
            + ["entrant"] * n_slots,
            cluster=cluster,
            group=np.concatenate([[named.index(f.group) for f in registry], len(named) + np.arange(n_other)]).astype(
                int
            ),
            listed_parent=np.array(
                [f.listed_parent for f in registry]
                + [pr.listed_parent for _, pr in projects]
                + [False] * (n_synth + len(aggregates) + n_slots)
            ),
            tier=[f.tier or tier_names[min(1, len(tiers) - 1)] for f in registry]
            + ["project"] * len(projects)
            + self._tier_names(stage, n_synth)
            + [t for _, t in aggregates]
            + ["entrant"] * n_slots,
            energy_location=site.energy[cluster],
            logistics=site.logistics[cluster],
            wage_location=site.wage[cluster],
            capex_location=site.capex[cluster],
            reference=ref,
        )
        book = FirmBook.empty(stage, columns, R)
        book.labour[:] = p.of(stage, "labour")
        book.utilization_q[:] = p.reference_utilization
        book.utilization_y[:] = p.reference_utilization
        suining_factor = p.of(stage, "suining_cost_factor")
        integrated = stage.key == "lithium_salt"
        conversion, energy = p.of(stage, "conversion_cost"), p.of(stage, "energy_cost")

        def home_factor(c: int) -> float:
            """Suining's own residual cost factor on top of its location (fitted); 1 elsewhere."""
            return suining_factor if c == 0 else 1.0

        # the registry's named plants: their group's national tier, their cluster's conditions
        for j, firm in enumerate(registry):
            built = self._built.get(firm.firm_id, np.ones(R, dtype=bool))
            cap0 = np.where(built, firm.capacity_at(0), 0.0)
            book.capacity[:, j] = cap0
            book.active[:, j] = built
            own = home_factor(cluster[j]) * self.data.tier_cost_factor(firm)
            book.conversion_cost[:, j] = conversion * own
            book.energy_cost[:, j] = energy * own
            for name, value in self._initial_state(stage, cap0).items():
                getattr(book, name)[:, j] = value
            rows = np.flatnonzero(built)
            for online, amount in firm.tranches:
                if online > 0 and amount > 0:
                    self._schedule_plant(stage, rows, np.full(len(rows), j), np.full(len(rows), float(amount)), online)

        # the scenarios' project pipelines (招商引资): each built with its probability, one draw per replicate
        offset = len(registry)
        for i, (c, pr) in enumerate(projects):
            j = offset + i
            built = self._built[("project", c, pr.name)]
            book.active[:, j] = built
            book.conversion_cost[:, j] = conversion * home_factor(c)
            book.energy_cost[:, j] = energy * home_factor(c)
            if pr.owns_feedstock and integrated:  # a domestic mine at the median of the domestic cost curve
                book.owns_feedstock[:, j] = True
                book.own_share[:, j] = 1.0
                book.own_feedstock_cost[:, j] = self._mine_cost(stage)(np.array(0.5))
            rows = np.flatnonzero(built)
            self._schedule_plant(stage, rows, np.full(len(rows), j), np.full(len(rows), pr.capacity), max(pr.online, 0))

        # the synthetic rest of China: national capacity less the named plants, tier by tier
        start = offset + len(projects)
        synth = slice(start, start + n_synth)
        national = self.data.national[stage.national["capacity"]]
        draws = [draw_population(s.population, n_synth) for s in self.streams]
        attrs = firm_attributes(stack(draws), p, conversion, energy, integrated, p.firm_size_sd, self._mine_cost(stage))

        def named_capacity(month: int, where=None) -> np.ndarray:
            """(R,) capacity of the built named plants at ``month`` (those for which ``where(firm)`` holds)."""
            total = np.zeros(R)
            for firm in registry:
                if where is None or where(firm):
                    total = total + np.where(self._built.get(firm.firm_id, True), firm.capacity_at(month), 0.0)
            return total

        tier_of = np.array(columns.tier[synth])
        sizes = attrs["size"].copy()
        residual = np.maximum(national[2021] - named_capacity(0), 0.0)  # (R,)
        # each tier holds its share of the capacity outside Suining, less the rival clusters' named plants of it
        outside = np.maximum(national[2021] - named_capacity(0, lambda f: f.cluster == "suining"), 0.0)
        targets = np.stack(
            [
                np.maximum(
                    tier.capacity_share * outside
                    - named_capacity(0, lambda f, t=tier.tier: f.cluster != "suining" and (f.tier or t) == t),
                    0.0,
                )
                for tier in tiers
            ],
            axis=-1,
        )  # (R, T)
        targets = (
            targets
            * np.divide(residual, targets.sum(axis=-1), out=np.zeros(R), where=targets.sum(axis=-1) > 0)[:, None]
        )
        for k, tier in enumerate(tiers):
            members = tier_of == tier.tier
            # a masked sum over the full, C-ordered row: sums over fancy-indexed columns are not C-ordered, and
            # their result would depend on how many replicates share the batch
            total = np.where(members, sizes, 0.0).sum(axis=-1, keepdims=True)
            sizes[:, members] = (sizes / total * targets[:, k : k + 1])[:, members]
            attrs["conversion_cost"][:, members] *= tier.cost_factor
            attrs["energy_cost"][:, members] *= tier.cost_factor
        capacity = sizes
        book.capacity[:, synth] = capacity
        book.active[:, synth] = True
        for name in ("conversion_cost", "energy_cost", "owns_feedstock", "own_feedstock_cost"):
            getattr(book, name)[:, synth] = attrs[name]
        book.own_share[:, synth] = attrs["owns_feedstock"].astype(float)
        for name, value in self._initial_state(stage, capacity).items():
            getattr(book, name)[:, synth] = value
        # capacity built in 2022 and 2023 is history: the data's growth net of the named plants' tranches, in
        # tranches to size-weighted random firms and months; firms' own orders arrive from
        # `first_endogenous_arrival` on, so the two never count the same plants twice
        for year, prev in ((2022, 2021), (2023, 2022)):
            first, last = (year - BASE_YEAR) * 12, (year - BASE_YEAR) * 12 + 11
            added_here = named_capacity(last) - named_capacity(first - 1 if first > 0 else 0)
            increment = np.maximum(national[year] - national[prev] - added_here, 0.0)
            n_tranches = max(n_synth // 4, 1)
            rows, cols, amounts, months = [], [], [], []
            for r, s in enumerate(self.streams):
                weights = sizes[r] / sizes[r].sum() if sizes[r].sum() > 0 else None
                who = s.population.choice(n_synth, size=n_tranches, p=weights)
                when = s.population.integers(first, last + 1, size=n_tranches)
                rows.append(np.full(n_tranches, r))
                cols.append(start + who)
                amounts.append(s.population.dirichlet(np.ones(n_tranches)) * increment[r])
                months.append(np.maximum(when, 1))
            rows, cols, amounts, months = map(np.concatenate, (rows, cols, amounts, months))
            for m in np.unique(months):
                sel = months == m
                self.events[int(m)].append(Event(stage.key, rows[sel], cols[sel], amounts[sel], "arrive_financed"))

        # new plants in the rival clusters and Suining, one column per cluster and tier: the tier's costs there
        first_aggregate = start + n_synth
        factor = {t.tier: t.cost_factor for t in tiers}
        self._aggregate_col[stage.key] = {}
        for i, (c, t) in enumerate(aggregates):
            j = first_aggregate + i
            own = home_factor(c) * factor.get(t, 1.0)
            book.conversion_cost[:, j] = conversion * own
            book.energy_cost[:, j] = energy * own
            self._aggregate_col[stage.key][(c, t)] = j

        # the named groups' plants by cluster (an expansion of a group goes to its plant where it picks)
        self._group_cols[stage.key] = [
            [np.flatnonzero((columns.group == g) & (columns.cluster == c)) for c in range(len(clusters.keys))]
            for g in range(len(named))
        ]

        # entrants: slots at the end, their variates drawn now from each replicate's entry stream
        quarters = self.n_months // 3 + 1
        most = self.params.max_entrants_per_quarter
        pre = [draw_entrants(s.entry, quarters, most) for s in self.streams]
        self._entrants[stage.key] = (np.stack([u for u, _ in pre]), stack([d for _, d in pre]))
        # where each potential entrant, and each plant's next expansion, would go: drawn now, so a replicate's draws
        # never depend on its batch; the scenario's pipeline projects draw last (`_draw_project_sites`), so adding a
        # project leaves every other column's draws as they were (common random numbers across scenarios)
        self._entrant_sites[stage.key] = np.stack([s.location.random((quarters, most, 2)) for s in self.streams])
        fixed = np.array([role != "project" for role in columns.role])
        self._site_draws[stage.key] = np.zeros((R, quarters, len(columns), 2))
        self._site_draws[stage.key][:, :, fixed] = np.stack(
            [s.location.random((quarters, int(fixed.sum()), 2)) for s in self.streams]
        )
        self._next_entrant[stage.key] = np.zeros(R, dtype=int)
        self._entrant_start[stage.key] = first_aggregate + len(aggregates)
        return book

    def _mine_cost(self, stage: Stage):
        """Quantiles of the domestic mines' feedstock cost for a converter of ``stage`` that owns one
        (`sim.engine.population.mine_cost_quantile`), from the domestic supply cohorts weighted by capacity."""
        supply = self.data.supply
        domestic = [c for c in supply.cohorts if c.region == "china"]
        if not domestic:
            return None
        costs = [(c.cost_low, c.cost_high, max(supply.capacity[c.cohort].values())) for c in domestic]
        # the conversion the cohorts' costs include, as for the registered integrated plants (`_mine_cash_cost`)
        return mine_cost_quantile(costs, self.params.cohort_conversion_cost)

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
            np.add.at(world.book.building, (rows, np.full(len(rows), col)), pr.capacity)

    # ----------------------------------------------------------------------------------------------------------
    # the monthly step
    # ----------------------------------------------------------------------------------------------------------
    def step(self) -> None:
        """One month for every replicate of the batch (see the module docstring for the order)."""
        t = self.steps - 1
        p = self.params
        self._bring_online(t)
        self._apply_feedstock(t)
        relief: dict[str, np.ndarray] = {}
        grants: dict[str, np.ndarray] = {}
        for code, pol in self._policies(t).items():
            policy.monthly_factors(pol, self.books, t, code)
            for key, value in policy.tax_relief(pol, self.books, t, code).items():
                relief[key] = relief.get(key, 0.0) + value
            for key, value in policy.innovation_grants(pol, self.books, t, code).items():
                grants[key] = grants.get(key, 0.0) + value
        learn = self._learn(t)

        # carbonate prices are quoted incl. 13% VAT (the spot quotes of the scenario); the accounts, like 产值,
        # are excl. VAT
        quote = self.world.price if self.market_mode else self.quote_path[:, t]
        carbonate = quote / (1.0 + p.vat_rate)
        drivers = self._drivers(t, quote)
        # stages clear: each stage's markup (a processing fee above the rule's, or for converters a feedstock
        # price below the formula's) is the least at which its firms offer what its buyers ask, downstream first
        prices, materials = self._price_pass(carbonate, drivers, learn)
        self._cell_ratio(t, prices, drivers, learn)
        realised = {s.key: self._realised_prices(s, prices[s.key], t) for s in self.chain.firm_stages}
        markups: dict[str, np.ndarray] = {}

        def clearing_offers(key: str, addressed: np.ndarray) -> np.ndarray:
            stage = self.chain[key]
            costs = self._costs(stage, materials[key], learn, t)
            terms = self._clearing_terms(stage, materials[key])
            markups[key] = self._clearing_markup(stage, realised[key], costs, addressed, terms)
            return self._offer_total(stage, realised[key], costs, markups[key], terms)

        self._demand_up(drivers, clearing_offers)

        # every firm's cost, margin and offer at the cleared prices
        prices, materials = self._price_pass(carbonate, drivers, learn, markups=markups)
        state = {}
        for stage in self.chain.firm_stages:
            key = stage.key
            received = realised[key] if stage.price_rule not in market.FEE_RULES else None
            state[key] = self._offers(stage, prices[key], materials[key], learn, t, received)
        offers = {key: st["offers"].sum(axis=-1) for key, st in state.items()}
        flows = self._chain_quantities(drivers, offers, t)
        for stage in self.chain.firm_stages:
            self._materials_history[stage.key].append(materials[stage.key])
        self.guard.month(t, quote, prices, drivers, flows)

        for stage in self.chain.firm_stages:
            self._produce(stage, state[stage.key], flows, relief.get(stage.key), t, grants.get(stage.key))
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

    def _learn(self, t: int) -> float:
        """The learning multiplier on processing costs, materials bought outside the chain and base fees."""
        return (1.0 - self.params.cost_learning_rate) ** (t / 12.0)

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
                    np.subtract.at(self.world.book.building, (event.rows, event.cols), event.amount)
                continue
            book = self.books[event.stage]
            stage = self.chain[event.stage]
            # a firm that exited before its plant was finished abandons it: nothing arrives, no spending starts
            alive = book.active[event.rows, event.cols]
            rows, cols, amount = event.rows[alive], event.cols[alive], event.amount[alive]
            if event.kind == "spend":
                for name, rate in (
                    ("capex_rate", amount),
                    ("subsidy_rate", None if event.subsidy is None else event.subsidy[alive]),
                    ("funded_rate", None if event.funded is None else event.funded[alive]),
                ):
                    if rate is None or not rate.any():
                        continue
                    target = getattr(book, name)
                    np.add.at(target, (rows, cols), rate)
                    # rates go up and down by the same amounts; clear the rounding left when they end, judged at
                    # each plant by its own change (another plant's rate, however small, is not rounding; and a
                    # replicate's numbers do not depend on its batch)
                    change = np.zeros(book.shape)
                    np.add.at(change, (rows, cols), np.abs(rate))
                    target[(change > 0) & (target < 1e-6 * change)] = 0.0
                continue
            book.add_capacity(rows, cols, amount, p.ramp_up_months)
            value = amount * p.of(stage, "capex") * book.columns.capex_location[cols]
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
        self,
        carbonate: np.ndarray,
        drivers: dict[str, np.ndarray],
        learn: float,
        with_fee: bool = True,
        markups: dict[str, np.ndarray] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Each stage's price and materials cost per unit (yuan, excl. VAT), upstream first; ``markups`` are the
        stages' clearing markups (see `_clearing_terms`): a fee stage's price rises by its markup, a stage priced
        outside it buys its inputs cheaper by its markup per unit of output."""
        markups = markups or {}
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
            markup = markups.get(stage.key)
            if markup is not None and stage.price_rule in market.FEE_RULES:
                fee = fee + markup
            inp = market.PriceInputs(
                carbonate=carbonate,
                upstream=prices,
                intensities={i.stage: getattr(p, i.intensity.name) for i in stage.inputs},
                shares={i.stage: (drivers[i.share] if i.share else np.ones(self.replicates)) for i in stage.inputs},
                other_inputs=other,
                fee=fee,
                params=p,
            )
            if markup is not None and stage.price_rule not in market.FEE_RULES and stage.inputs:
                # the inputs give way in proportion: what the stage pays for them falls by the markup
                paid = market.input_cost(inp)
                factor = 1.0 - np.divide(markup, paid, out=np.zeros_like(paid), where=paid > 0)
                for i in stage.inputs:
                    prices[i.stage] = prices[i.stage] * np.maximum(factor, 0.0)
            prices[stage.key] = market.PRICE_RULES[stage.price_rule](inp)
            materials[stage.key] = (
                prices[stage.key] - fee if stage.price_rule in market.FEE_RULES else (market.input_cost(inp) + other)
            )
        return prices, materials

    # --- 5. offers ----------------------------------------------------------------------------------------------
    def _costs(self, stage: Stage, materials: np.ndarray, learn: float, t: int) -> dict[str, np.ndarray]:
        """Every firm's unit costs at this month's materials price, (R, N) yuan per unit: ``unit`` (what the group
        decides on), ``accounts`` (what the plant's books pay), ``processing`` and ``input``."""
        p = self.params
        book = self.books[stage.key]
        kind = firm_type(stage.key)
        cols = book.columns
        # the plant's cluster: power at its price, freight beyond the rest of China's (docs/model.md, "Submodels:
        # investment, entry and exit"); support and the land-efficiency grade on top
        energy = book.energy_cost * cols.energy_location * book.energy_factor * book.grade_factor
        processing = (np.maximum(book.conversion_cost + cols.logistics, 0.1 * book.conversion_cost) + energy) * (
            book.cost_factor * learn
        )
        input_cost = kind.input_cost(book, materials, p)
        accounts = self._accounts_materials(book, input_cost, materials) + processing
        return {"unit": input_cost + processing, "accounts": accounts, "processing": processing, "input": input_cost}

    def _clearing_terms(self, stage: Stage, materials: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """How a markup acts on a stage: ``(raises, lowers, cap)``.

        A stage priced by a processing fee clears by a higher fee (its price rises one for one, ``raises = 1``);
        a stage whose price is set outside it (lithium salts, at the carbonate price) clears by a cheaper input:
        concentrate sold by formula gives way, lowering each firm's cost by what it buys at that price
        (``lowers``, (R, N); nothing for a converter fed by its group's mine), down to a free input (``cap``).
        docs/model.md, "Submodels: offers and allocation".
        """
        book = self.books[stage.key]
        if stage.price_rule in market.FEE_RULES:
            return 1.0, np.zeros(book.shape), np.full(self.replicates, np.inf)
        kind = firm_type(stage.key)
        ones = np.ones(self.replicates)
        lowers = kind.input_cost(book, ones, self.params) - kind.input_cost(book, 0.0 * ones, self.params)
        return 0.0, lowers, materials

    def _clearing_markup(
        self, stage: Stage, received: np.ndarray, costs: dict, addressed: np.ndarray, terms: tuple
    ) -> np.ndarray:
        """The least markup at which the stage's firms offer what is addressed to it, or all they can, (R,).

        Only the replicates whose firms would offer too little without a markup are searched, each on its own row
        (so a replicate's markup does not depend on its batch)."""
        raises, lowers, cap = terms
        book = self.books[stage.key]
        available = book.available()
        # all they can, summed as their offers are (each plant's available / 12): a stage short of capacity then
        # clears exactly where every plant offers all, not a rounding away from it
        full = np.where(book.active, available / 12.0, 0.0).sum(axis=-1)
        need = np.minimum(addressed, full)
        zero = np.zeros(self.replicates)
        short = self._offer_total(stage, received, costs, zero, terms) < need
        if not short.any():
            return zero
        rows = np.flatnonzero(short)
        p = self.params
        sub_received, sub_unit = received[rows], costs["unit"][rows]
        sub_lowers = lowers[rows] if np.ndim(lowers) == 2 else lowers
        sub_available, sub_active, sub_idle = available[rows], book.active[rows], book.idle[rows]

        def offers_at(x: np.ndarray) -> np.ndarray:
            price = sub_received + raises * x[:, None]
            margin = (price - (sub_unit - sub_lowers * x[:, None])) / price
            share = offer_share(margin, sub_idle, p.min_utilization, p.cut_margin)
            return np.where(sub_active, sub_available / 12.0 * share, 0.0).sum(axis=-1)

        slope = raises + sub_lowers
        gap = np.where(sub_active & (slope > 0), (sub_unit - sub_received) / np.maximum(slope, 1e-12), 0.0)
        upper = np.minimum(np.maximum(gap.max(axis=-1), 0.0) * 1.001 + 1e-6, cap[rows])
        found = market.clearing_markup(need[rows], offers_at, upper)
        # a hair above the bracket, so that prices recomputed from the markup keep a firm that breaks even at it
        # offering (an idle plant restarts only at a positive margin)
        scale = np.abs(sub_received).max(axis=-1)
        found = np.where(found > 0, np.minimum(found + 1e-9 * scale, np.maximum(cap[rows], found)), 0.0)
        out = zero.copy()
        out[rows] = found
        return out

    def _offer_total(
        self, stage: Stage, received: np.ndarray, costs: dict, markup: np.ndarray, terms: tuple
    ) -> np.ndarray:
        """The stage's total offer, (R,) u/month, at a markup (see `_clearing_terms`)."""
        raises, lowers, _ = terms
        book = self.books[stage.key]
        price = received + raises * markup[:, None]
        margin = (price - (costs["unit"] - lowers * markup[:, None])) / price
        return firm_type(stage.key).offers(book, book.available(), margin, self.params).sum(axis=-1)

    def _offers(
        self,
        stage: Stage,
        price: np.ndarray,
        materials: np.ndarray,
        learn: float,
        t: int,
        received: np.ndarray | None = None,
    ) -> dict:
        """Every firm's costs, margin, offer and competitiveness weight at the month's cleared prices."""
        p = self.params
        book = self.books[stage.key]
        kind = firm_type(stage.key)
        costs = self._costs(stage, materials, learn, t)
        prices = received if received is not None else np.broadcast_to(price[:, None], book.shape)
        margin = (prices - costs["unit"]) / prices
        available = book.available()
        offers = kind.offers(book, available, margin, p)
        weights = market.logit_weights(
            offers, kind.controllable_cost(book, costs["input"], costs["processing"]), p.competitiveness_elasticity
        )
        return {
            "unit_cost": costs["unit"],
            "accounts_cost": costs["accounts"],
            "prices": prices,
            "margin": margin,
            "available": available,
            "offers": offers,
            "weights": weights,
        }

    def _apply_feedstock(self, t: int) -> None:
        """This month's feedstock terms of the registered salt plants (``suining_feedstock.csv``): the share their
        group's mines supply and its cash cost (the mine's cohort cost less the conversion included in it), and how
        their accounts pay for each part (a lagged market price less a discount, or the mine's cost)."""
        if self.world is None:
            return
        withheld = None
        for stage in self.chain.firm_stages:
            book = self.books[stage.key]
            registry = [f for f in self.data.registry if f.segment == stage.key]
            cols = book.columns
            for j, firm in enumerate(registry):
                parts = firm.feedstock_at(t)
                if not parts:
                    continue
                # a mine that events withhold (a licence suspended, exports banned) cannot feed its owner: that
                # part is bought on the market instead
                if withheld is None:
                    withheld = self.world.withheld_fraction(t)
                cohort_index = self.world.book.index
                own = [part for part in parts if part.source == "own_mine"]
                running = {id(part): 1.0 - withheld[cohort_index(part.cohort)] for part in own}
                share = sum(part.share * running[id(part)] for part in own)
                cost = sum(part.share * running[id(part)] * self._mine_cash_cost(part.cohort, t) for part in own)
                book.own_share[:, j] = share
                book.owns_feedstock[:, j] = share > 0
                book.own_feedstock_cost[:, j] = cost / share if share > 0 else 0.0
                cols.accounts_linked[j] = {}
                cols.accounts_at_cost[j] = 0.0
                if j not in cols.accounts_terms:
                    cols.accounts_terms.append(j)
                linked = cols.accounts_linked[j]
                for part in parts:
                    kept = running.get(id(part), 1.0)
                    if part.market_linked:
                        linked[part.lag_months] = linked.get(part.lag_months, 0.0) + part.share * kept * (
                            1.0 - part.discount
                        )
                    else:
                        cols.accounts_at_cost[j] += part.share * kept
                    if kept < 1.0:  # bought at this month's market price
                        linked[0] = linked.get(0, 0.0) + part.share * (1.0 - kept)

    def _mine_cash_cost(self, cohort: str, t: int) -> float:
        """A cohort's mid cash cost in month ``t``, excl. the conversion its costs include: what one t LCE of its
        feedstock costs the group that owns the mine, yuan/t LCE (read from the cost paths: the world book's own
        month is set later in the step)."""
        book = self.world.book
        k = book.index(cohort)
        mid = 0.5 * (book.cost_low_path[t, k] + book.cost_high_path[t, k])
        return max(mid - self.params.cohort_conversion_cost, 0.1 * mid)

    def _accounts_materials(self, book: FirmBook, decided: np.ndarray, materials: np.ndarray) -> np.ndarray:
        """What each plant's accounts pay for its main input per unit, (R, N): the decided cost, except registered
        salt plants with feedstock terms, whose market-linked parts pay the average market materials price (after
        clearing) of the ``lag`` months before this one, less any discount, and whose parts at cost pay the mine's
        cost."""
        cols = book.columns
        terms = cols.accounts_terms
        if not terms:
            return decided
        out = decided.copy()
        history = self._materials_history[book.stage.key]
        for j in terms:
            linked = cols.accounts_linked[j]
            paid = cols.accounts_at_cost[j] * book.own_feedstock_cost[:, j]
            for lag, weight in linked.items():
                # (R, lag), reduced along the last axis: batch-independent
                past = np.stack(history[-lag:], axis=-1).mean(axis=-1) if lag > 0 and history else materials
                paid = paid + weight * past
            out[:, j] = paid
        return out

    def _realised_prices(self, stage: Stage, price: np.ndarray, t: int) -> np.ndarray:
        """The price each firm receives, (R, N): the market's, except salt sold forward (hedging) where a cluster's
        policy has it."""
        book = self.books[stage.key]
        prices = np.broadcast_to(price[:, None], book.shape)
        if stage.key != "lithium_salt":
            return prices
        out = prices
        for code, pol in self._policies(t).items():
            if "hedging" not in pol.settings:
                continue
            share, horizon, cost = policy.hedge_terms(pol, self.params)
            if share <= 0 or t < pol.start("hedging"):
                continue
            # sell forward now for delivery in `horizon` months at the expected price
            self.forwards[(code, t + horizon)] = self._forward_price(t, horizon, price)
            due = self.forwards.pop((code, t), None)
            if due is None:  # contracts sold from the start month deliver from start + horizon
                continue
            hedged = (1.0 - share) * price + share * due * (1.0 - cost)
            out = np.where(book.columns.in_cluster(code), hedged[:, None], out)
        return out

    def _forward_price(self, t: int, horizon: int, spot: np.ndarray) -> np.ndarray:
        """The futures price for delivery in ``horizon`` months: what the market expects then, given now.

        Path mode: the scenario's path at delivery times the expected part of today's AR(1) shock. Market mode:
        the price moving from today's toward today's clearing price at the market's adjustment speed. Either
        way it uses no information from after the sale, so hedging cannot raise the mean price received.
        """
        sc = self.scenario
        if not self.market_mode:
            path = sc.price_path() / (1.0 + self.params.vat_rate)
            later = min(t + horizon, self.n_months - 1)
            expected_shock = sc.persistence**horizon * self.price_shock[:, t]
            return path[later] * np.exp(expected_shock)
        p = self.params
        target = self.world.last_target / (1.0 + p.vat_rate)
        closed = 1.0 - (1.0 - p.price_adjustment) ** horizon
        return spot * (target / spot) ** closed

    # --- 6. quantities along the chain --------------------------------------------------------------------------
    def _demand_up(
        self, drivers: dict[str, np.ndarray], offers: Callable[[str, np.ndarray], np.ndarray]
    ) -> tuple[dict[str, np.ndarray], ...]:
        """Demand up the chain, downstream first: final, gross, addressed demand and request of every stage (see
        `_chain_quantities`); ``offers(key, addressed)`` gives a firm stage's total offer (u/month, (R,))."""
        chain = self.chain
        zero = np.zeros(self.replicates)

        def share(inp) -> np.ndarray:
            return drivers[inp.share] if inp.share else np.ones(self.replicates)

        def intensity(inp) -> float:
            return getattr(self.params, inp.intensity.name)

        final = {
            s.key: (
                drivers[s.final_demand] if s.final_demand and (s.agents == "firms" or self.world is not None) else zero
            )
            for s in chain
        }
        gross, addressed, request = {}, {}, {}
        for stage in reversed(chain.stages):
            buyers = chain.buyers(stage.key)
            gross[stage.key] = final[stage.key] + sum((intensity(i) * share(i) * gross[b.key] for b, i in buyers), zero)
            addressed[stage.key] = final[stage.key] + sum(
                (intensity(i) * share(i) * request[b.key] for b, i in buyers), zero
            )
            if stage.agents == "firms":
                offered = offers(stage.key, addressed[stage.key])
                # a stage whose price the scenario pins (salts in path mode) is served in full: what its firms do
                # not make at that price comes from stocks and trade (`_chain_quantities`)
                request[stage.key] = (
                    addressed[stage.key] if self._pinned(stage) else np.minimum(addressed[stage.key], offered)
                )
            else:
                request[stage.key] = addressed[stage.key]
        return final, gross, addressed, request

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
        Material balances hold exactly: what b buys from s is ``a_b`` times b's output that uses s. A stage whose
        price the scenario pins (`_pinned`) requests all that is addressed to it; the part of ``X_s`` its firms do
        not offer is trade (served from stocks and imports), so ``X_s = output + trade``.
        """
        chain = self.chain
        zero = np.zeros(self.replicates)

        def share(inp) -> np.ndarray:
            return drivers[inp.share] if inp.share else np.ones(self.replicates)

        def intensity(inp) -> float:
            return getattr(self.params, inp.intensity.name)

        final, gross, addressed, request = self._demand_up(drivers, lambda key, _addressed: offers[key])

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
                        supply_month.to_buyers,
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
                output[stage.key] = supply_month.to_buyers
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
        # at a pinned price, what the stage's firms do not offer comes from stocks and trade, not its own output
        trade = {key: zero for key in output}
        for stage in chain.firm_stages:
            if self._pinned(stage):
                trade[stage.key] = np.maximum(output[stage.key] - offers[stage.key], 0.0)
                output[stage.key] = output[stage.key] - trade[stage.key]
        unmet = {key: np.maximum(addressed[key] - output[key] - trade[key], 0.0) for key in output}
        return {
            "gross": gross,
            "addressed": addressed,
            "request": request,
            "output": output,
            "unmet": unmet,
            "final": final,
            "trade": trade,
            "supply": supply_month,
        }

    def _pinned(self, stage: Stage) -> bool:
        """Whether the scenario pins the stage's price: a firm stage priced off the carbonate quote in path mode."""
        return not self.market_mode and stage.agents == "firms" and stage.price_rule not in market.FEE_RULES

    # --- 7. production and accounts -----------------------------------------------------------------------------
    def _produce(
        self,
        stage: Stage,
        st: dict,
        flows: dict,
        relief: np.ndarray | None,
        t: int,
        grants: np.ndarray | None = None,
    ) -> None:
        p = self.params
        book = self.books[stage.key]
        kind = firm_type(stage.key)
        quantity = market.allocate_capped(
            flows["output"][stage.key], st["offers"], st["weights"], p.of(stage, "max_firm_share")
        )
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
            st["accounts_cost"],
            employment,
            book.capital,
            book.debt,
            book.vat_credit,
            annual_wage=p.annual_wage * book.columns.wage_location,
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
        # what the city pays: capex subsidies, relief, innovation grants and its share of the energy saving
        energy = (
            book.energy_cost
            * book.columns.energy_location
            * book.energy_factor
            * book.grade_factor
            * book.cost_factor
            * self._learn(t)
        )
        support = (
            book.subsidy_rate
            + (relief if relief is not None else 0.0)
            + (grants if grants is not None else 0.0)
            + sum(
                (
                    policy.energy_support_cost(pol, book, energy, quantity, code)
                    for code, pol in self._policies(t).items()
                    if "energy_support" in pol.settings
                ),
                np.zeros(book.shape),
            )
        )
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
        self.recorder.count(f"idle_months_suining_{stage.key}", book.idle & book.suining)
        # months of negative operating cash flow, plant by plant: the distress hedging is meant to soften
        self.recorder.add(stage.key, loss_months=(book.active & (operating < 0)).astype(float))
        book.close(exit_now)
        self.recorder.count(f"exits_{stage.key}", exit_now)
        self.recorder.count(f"exits_suining_{stage.key}", exit_now & book.suining)
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
            for name in STAGE_FLOWS:
                values[f"{name}_{key}"] = flows[name][key]
        supply = flows["supply"]
        if supply is not None:
            for name in WORLD_SERIES:
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
        grades = {}
        for code, pol in self._policies(t).items():
            for key, refund in policy.vat_refunds(pol, self.books, t, code).items():
                self.recorder.acc[key]["support"] += refund
            capex = {key: self.params.of(self.chain[key], "capex") for key in self.books}
            credit = {key: self._parent_credit(self.chain[key]) for key in self.books}
            yearly = {key: self.recorder.year_flows(key) for key in self.books}
            review = policy.land_efficiency(pol, self.books, yearly, capex, credit, t, code)
            for key, result in review.items():
                self.recorder.acc[key]["support"] += result["support"]
                self.recorder.count("land_upgrades", result["upgraded"])
                self.recorder.count("land_exits", result["exited"])
                grades[key] = np.where(result["grade"] >= 0, result["grade"], grades.get(key, -1))
        self.recorder.close_year(grades)
        self.guard.year(t, self.recorder.regional)

    def _lag(self, stage: Stage, t: int) -> np.ndarray:
        """Construction lag in months per firm column; ready land ("标准地") shortens it in the clusters that offer
        it."""
        book = self.books[stage.key]
        lag = np.full(book.shape[1], self.params.of(stage, "construction_lag"))
        lag = np.maximum(lag - self._lag_cuts(t)[book.columns.cluster], 1.0)
        return np.maximum(np.rint(lag), 1).astype(int)

    def _lag_cuts(self, t: int) -> np.ndarray:
        """Months off the construction lag each cluster's ready land gives now, (K,)."""
        return np.array(
            [
                pol.value("investment_support", "lag_cut_months") if t >= pol.start("investment_support") else 0.0
                for _, pol in sorted(self._policies(t).items())
            ]
        )

    def _order(
        self,
        stage: Stage,
        rows: np.ndarray,
        cols: np.ndarray,
        amount: np.ndarray,
        lag: np.ndarray,
        t: int,
    ) -> None:
        """Plant ordered now.

        A share ``completion_rate`` of the announced capacity is built, in three equal tranches arriving after
        ``(1 - lag_spread)``, 1 and ``(1 + lag_spread)`` times the construction lag (not before
        `first_endogenous_arrival`). Capex is spent evenly until the last tranche: the firm's share from cash
        and loans, the rest by the government (the cluster's capex subsidy, or in the rest of China local
        incentives).
        """
        if len(rows) == 0:
            return
        p = self.params
        book = self.books[stage.key]
        built = amount * p.completion_rate
        cost = built * p.of(stage, "capex") * book.columns.capex_location[cols]
        # the rest of China's local incentives (a rival city's are its own policy, in capex_factor)
        local = np.where(book.columns.cluster[cols] == self._reference, 1.0 - p.local_incentive_share, 1.0)
        own = cost * book.capex_factor[rows, cols] * local
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
        """This quarter's expansions: each firm's order (`agents.decisions.investment_orders`), a named group's
        orders taken together, each placed in the cluster it picks (`_place`)."""
        book = self.books[stage.key]
        cols = book.columns
        orders = firm_type(stage.key).plan_investment(book, price, self.params.of(stage, "capex"), self.params)
        # a named group decides once for all its plants: its first column carries the group's order
        deciding = orders.copy()
        home = np.zeros((len(cols), len(self.sites[stage.key].keys)), dtype=bool)
        home[np.arange(len(cols)), cols.cluster] = True
        for g, by_cluster in enumerate(self._group_cols[stage.key]):
            members = cols.group == g
            first = np.flatnonzero(members)[0]
            total = np.where(members, orders, 0.0).sum(axis=-1)
            deciding[:, members] = 0.0
            deciding[:, first] = total
            home[first] = [len(c) > 0 for c in by_cluster]
        self._place(stage, t, deciding, home, book.conversion_cost, book.energy_cost, np.arange(len(cols)))
        self.recorder.count(f"orders_{stage.key}", (orders > 0))

    def _choose(
        self,
        stage: Stage,
        t: int,
        rows: np.ndarray,
        conversion: np.ndarray,
        energy: np.ndarray,
        labour: np.ndarray,
        home: np.ndarray,
        uniforms: np.ndarray,
    ) -> np.ndarray:
        """The cluster each decider picks for a new plant, (E,) (`sim.engine.location`).

        Args:
            rows: (E,) the replicate of each decider.
            conversion, energy: the deciders' costs where they are, (E,) yuan/unit (Suining's residual factor
                taken out: it applies to any plant in Suining).
            labour: (E,) workers per unit/yr.
            home: (E, K) the clusters where the decider's group has a plant.
            uniforms: (E, 2) uniform draws (home or elsewhere; which elsewhere: `sim.engine.location.draw`).
        """
        p = self.params
        site = self.sites[stage.key]
        hf = np.where(np.arange(len(site.keys)) == 0, p.of(stage, "suining_cost_factor"), 1.0)
        started = sorted(self._policies(t).items())
        cut = np.array(
            [pol.value("energy_support", "cost_cut") if t >= pol.start("energy_support") else 0.0 for _, pol in started]
        )
        subsidy = np.array(
            [
                pol.value("investment_support", "capex_subsidy") if t >= pol.start("investment_support") else 0.0
                for _, pol in started
            ]
        )
        # the rest of China's local incentives lower its capex as they do when the plant is built (`_order`)
        subsidy[self._reference] = 1.0 - (1.0 - subsidy[self._reference]) * (1.0 - p.local_incentive_share)
        cost = location.unit_costs(
            conversion,
            energy,
            labour,
            site,
            p.annual_wage,
            p.of(stage, "capex"),
            p.investment_hurdle + 1.0 / p.depreciation_years,
            cut,
            subsidy,
        )
        # Suining's residual factor (fitted) on its conversion and energy, beside its conditions
        cost = cost + (hf - 1.0) * (conversion[..., None] + energy[..., None] * site.energy * (1.0 - cut))
        capacity = {key: b.capacity for key, b in self.books.items()}
        clusters = {key: b.columns.cluster for key, b in self.books.items()}
        adjacent = [
            s.key
            for s in self.chain.firm_stages
            if s.key != stage.key
            and (any(i.stage == s.key for i in stage.inputs) or any(i.stage == stage.key for i in s.inputs))
        ]
        cached = self._agglomeration.get(stage.key)
        if cached is None or cached[0] != t:  # once a quarter per stage: expansions and entrants share it
            cached = (t, location.agglomeration(capacity, clusters, stage.key, adjacent, len(site.keys)))
            self._agglomeration[stage.key] = cached
        weight = cached[1][rows]
        probabilities = location.choice_probabilities(cost, home, weight, self._lag_cuts(t), site.allowed, p)
        return location.draw(probabilities, uniforms)

    def _place(
        self,
        stage: Stage,
        t: int,
        orders: np.ndarray,
        home: np.ndarray,
        conversion: np.ndarray,
        energy: np.ndarray,
        deciders: np.ndarray,
    ) -> None:
        """Place orders (R, M) of deciders (columns ``deciders``) where each picks (`_choose`): at its own plant or,
        for a named group, its plant in that cluster; else a new plant in the cluster (its new-plant column for
        the decider's tier), or in the rest of China a new firm (an entrant slot)."""
        book = self.books[stage.key]
        cols = book.columns
        rows, which = np.nonzero(orders[:, deciders] > 0)
        if len(rows) == 0:
            return
        source = deciders[which]
        hf = np.where(cols.cluster[source] == 0, self.params.of(stage, "suining_cost_factor"), 1.0)
        picked = self._choose(
            stage,
            t,
            rows,
            conversion[rows, source] / hf,
            energy[rows, source] / hf,
            book.labour[rows, source],
            home[source],
            self._site_draws[stage.key][rows, t // 3, source],
        )
        amount = orders[rows, source]
        target = np.where(picked == cols.cluster[source], source, -1)
        # a named group's plant in the picked cluster (its largest there)
        for g in np.unique(cols.group[source]):
            if g >= len(self._group_cols[stage.key]):
                continue
            mine = (cols.group[source] == g) & (target < 0)
            for c, plants in enumerate(self._group_cols[stage.key][g]):
                sel = mine & (picked == c)
                if len(plants) and sel.any():
                    size = book.capacity[rows[sel]][:, plants] * book.active[rows[sel]][:, plants]
                    target[sel] = plants[np.argmax(size, axis=-1)]
        # elsewhere: the cluster's column of new plants for the decider's tier (or its entrants' column)
        tiers = np.array(cols.tier)[source]
        for (c, tier), j in self._aggregate_col[stage.key].items():
            target[(target < 0) & (picked == c) & (tiers == tier)] = j
        for (c, tier), j in self._aggregate_col[stage.key].items():
            if tier == "entrant":
                target[(target < 0) & (picked == c)] = j
        # the rest of China: a new firm in an entrant slot, at the decider's costs
        new = np.flatnonzero(target < 0)
        if len(new):
            slots = self._take_slots(stage, rows[new])
            ok = slots >= 0
            r, j, src = rows[new[ok]], slots[ok], source[new[ok]]
            target[new[ok]] = j
            book.conversion_cost[r, j] = book.conversion_cost[r, src] / hf[new[ok]]
            book.energy_cost[r, j] = book.energy_cost[r, src] / hf[new[ok]]
            self._start_firm(book, r, j, book.expected_margin[r, src])
        keep = target >= 0
        rows, target, amount = rows[keep], target[keep], amount[keep]
        book.active[rows, target] = True
        placed = np.zeros(book.shape)
        np.add.at(placed, (rows, target), amount * self.params.completion_rate)
        self.recorder.add(stage.key, ordered=placed)
        self._order(stage, rows, target, amount, self._lag(stage, t)[target], t)

    def _take_slots(self, stage: Stage, rows: np.ndarray) -> np.ndarray:
        """Free entrant slots for new firms in the rest of China, one per row given (-1 when none is left); the
        rows' own order decides who gets a slot first in each replicate."""
        book = self.books[stage.key]
        start = self._entrant_start[stage.key]
        free = len(book.columns) - start
        nxt = self._next_entrant[stage.key]
        order = np.argsort(rows, kind="stable")
        ranked = rows[order]
        rank = np.arange(len(ranked)) - np.searchsorted(ranked, ranked, side="left")
        slot = nxt[ranked] + rank
        ok = slot < free
        out = np.full(len(rows), -1)
        out[order[ok]] = start + slot[ok]
        nxt += np.bincount(ranked[ok], minlength=self.replicates)
        self.recorder.count(f"entry_blocked_{stage.key}", np.bincount(ranked[~ok], minlength=self.replicates))
        return out

    def _start_firm(self, book: FirmBook, rows: np.ndarray, cols: np.ndarray, expected: np.ndarray) -> None:
        """A new firm in a slot: active, with the expectations given."""
        book.active[rows, cols] = True
        book.expected_margin[rows, cols] = expected
        book.margin_year[rows, cols] = expected

    def _enter(self, stage: Stage, t: int, price: np.ndarray) -> None:
        """New firms when the stage's expected return on capital clears the entrants' hurdle; each picks its
        cluster (`_choose`, with no plant anywhere yet): in the rest of China it takes an entrant slot, elsewhere
        its plant joins the cluster's column of entrants' plants."""
        p = self.params
        book = self.books[stage.key]
        capex = p.of(stage, "capex")
        incumbents = book.active & (book.columns.cluster == self._reference) & (book.capacity > 0)
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
        most = p.max_entrants_per_quarter
        blocked = np.maximum(n - most, 0)
        n = np.minimum(n, most)
        self.recorder.count(f"entry_blocked_{stage.key}", blocked)
        if not n.any():
            return
        quarter = type(draws)(*(getattr(draws, f)[:, q, :] for f in ("size", "cost", "energy", "owns", "own_cost")))
        attrs = firm_attributes(
            quarter,
            p,
            p.of(stage, "conversion_cost"),
            p.of(stage, "energy_cost"),
            stage.key == "lithium_salt",
            p.entrant_size_sd,
            self._mine_cost(stage),
        )
        median = market.row_median(book.capacity, incumbents)
        expected = np.divide(
            np.where(incumbents, weights * book.expected_margin, 0.0).sum(axis=-1),
            total,
            out=np.zeros(self.replicates),
            where=total > 0,
        )
        k = np.arange(most)
        rows, ks = np.nonzero(k[None, :] < n[:, None])
        size = median[rows] * attrs["size"][rows, ks]
        picked = self._choose(
            stage,
            t,
            rows,
            attrs["conversion_cost"][rows, ks],
            attrs["energy_cost"][rows, ks],
            np.full(len(rows), p.of(stage, "labour")),
            np.zeros((len(rows), len(self.sites[stage.key].keys)), dtype=bool),
            self._entrant_sites[stage.key][rows, q, ks],
        )
        here = picked == self._reference
        # in the rest of China: a new firm in a slot
        slots = self._take_slots(stage, rows[here])
        ok = slots >= 0
        r_new, c_new, k_new = rows[here][ok], slots[ok], ks[here][ok]
        for name in ("conversion_cost", "energy_cost", "owns_feedstock", "own_feedstock_cost"):
            getattr(book, name)[r_new, c_new] = attrs[name][r_new, k_new]
        book.own_share[r_new, c_new] = attrs["owns_feedstock"][r_new, k_new].astype(float)
        self._start_firm(book, r_new, c_new, expected[r_new])
        target = np.full(len(rows), -1)
        target[np.flatnonzero(here)[ok]] = c_new
        # elsewhere: the cluster's column of entrants' plants
        for (c, tier), j in self._aggregate_col[stage.key].items():
            if tier == "entrant":
                sel = ~here & (picked == c)
                target[sel] = j
                fresh = sel & ~book.active[rows, j]
                if fresh.any():
                    self._start_firm(book, rows[fresh], np.full(fresh.sum(), j), expected[rows[fresh]])
        keep = target >= 0
        rows, target, size = rows[keep], target[keep], size[keep]
        placed = np.zeros(book.shape)
        np.add.at(placed, (rows, target), size * p.completion_rate)
        self.recorder.add(stage.key, ordered=placed)
        self._order(stage, rows, target, size, self._lag(stage, t)[target], t)
        self.recorder.count(f"entrants_{stage.key}", np.bincount(rows, minlength=self.replicates).astype(float))

    def _expand_supply(self, t: int) -> None:
        world = self.world
        orders = world.expansion(t)
        rows, cols = np.nonzero(orders > 0)
        if len(rows) == 0:
            return
        month = t + int(round(self.params.mine_construction_lag))
        self.events[month].append(Event("lithium_supply", rows, cols, orders[rows, cols], "arrive"))
        np.add.at(world.book.building, (rows, cols), orders[rows, cols])

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
