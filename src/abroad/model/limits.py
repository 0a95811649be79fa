"""Upper limits on every input quantity that sizes memory or time.

Each is far above any real election (the largest diasporas count a few million citizens; the
busiest stations a few tens of thousands of voters a day) and low enough that no input within
them can exhaust memory, run for days or hand the numerical kernels a value they cannot handle.
The same figures are listed in docs/reference/limits.md, and every error message that enforces
one states it.
"""

from __future__ import annotations

from typing import Final

# Files
MAX_YAML_BYTES: Final = 10_000_000
"""scenario.yaml and station specs (YAML or JSON)."""
MAX_TABLE_BYTES: Final = 512_000_000
"""A voter-places or sites table (CSV or XLSX file on disk)."""
MAX_XLSX_UNPACKED_BYTES: Final = 2_000_000_000
"""Total uncompressed size of an XLSX workbook (zip bombs)."""
MAX_TABLE_ROWS: Final = 2_000_000
"""Data rows of one table."""
MAX_TABLE_COLUMNS: Final = 200
"""Columns of one table."""
MAX_CELL_CHARS: Final = 10_000
"""Characters in one table cell."""

# YAML structure
MAX_YAML_ALIASES: Final = 100
"""Alias uses (``*name``) in one YAML document (against "billion laughs")."""
MAX_YAML_DEPTH: Final = 50
"""Nesting depth of mappings and lists in one YAML document."""

# Scenario
MAX_SITES: Final = 5_000
MAX_PLACE_SITE_PAIRS: Final = 50_000_000
"""Voter places x sites: the demand model holds about 20 bytes per pair (1 GB at the limit)."""
MAX_VOTING_DAYS: Final = 31
MAX_CITIZENS_PER_PLACE: Final = 100_000_000
"""Eligible citizens, pre-registrations, previous votes or estimate of one voter place."""
MAX_TOTAL_CITIZENS: Final = 50_000_000
"""Eligible citizens of all places of a scenario together (the largest diasporas: ~18 M)."""
MAX_SERVERS: Final = 1_000
"""Servers of one stage (desks, booths, screening lanes) at one station."""
MAX_STAFF: Final = 1_000_000
MAX_QUEUE_LENGTH: Final = 10_000_000
"""``max_queue_outside``, ``balk_queue_length``."""
MAX_BALLOTS: Final = 1_000_000_000
MAX_MONEY: Final = 1e12
"""Costs and budgets, in any currency."""
MAX_EXTEND_MINUTES: Final = 1_440
"""Extension of the opening hours at closing (one day)."""
MAX_WAIT_TARGET_MINUTES: Final = 1_440
MAX_SURGES: Final = 100
"""Surges per scenario or per station day."""
MAX_DISTANCE_KM: Final = 40_075.0
"""Distances and their scales (the Earth's circumference)."""
MAX_HOURS: Final = 240.0
"""Travel-time scales and overheads."""
MAX_SPEED_KMH: Final = 2_000.0
MAX_CHOICE_K: Final = 50
MAX_COEFFICIENT: Final = 1_000.0
"""Logit coefficients and signal weights."""

# Durations and distributions
MAX_DURATION_MINUTES: Final = 100_000.0
"""Any service time, patience or surge width (about ten weeks)."""
MAX_CV: Final = 100.0
"""Coefficient of variation of a log-normal distribution."""
MAX_EMPIRICAL_VALUES: Final = 1_000_000

# Station spec
MAX_STAGES: Final = 20
MAX_DAY_MINUTES: Final = 1_000_000.0
"""Clock minutes of a station day (open, close, schedule steps, surge times): a textbook
stationary run may use a long horizon (examples/stations/mmc-textbook.yaml: 500,000)."""
MAX_QUEUE_SAMPLES: Final = 100_000
"""Line-length samples of one day: (close - open + extension) / queue_step_minutes."""
MAX_RATE_BINS: Final = 100_000
"""Arrival-rate bins of one day."""
MAX_SCHEDULE_STEPS: Final = 10_000
MAX_ARRIVALS_PER_HOUR: Final = 1_000_000.0
MAX_EARLY_VOTERS: Final = 1_000_000
"""People in line at opening, per day."""
MAX_EXPECTED_ARRIVALS: Final = 10_000_000.0
"""Expected arrivals of one station over all its days (profile, surges and early voters)."""

# Command line
MAX_REPLICATIONS: Final = 10_000
MAX_SEED: Final = 2**63 - 1
MAX_TIME_LIMIT_SECONDS: Final = 604_800.0
"""Optimiser time limit (one week)."""

MAX_OPTIONS_PER_SITE: Final = 64
"""Most alternatives (hour windows x day sets x close policies) a ``planner_decides`` group may
give one station: each is simulated when the scenario is planned."""
