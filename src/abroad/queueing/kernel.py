"""The compiled core: one replication of one station over all its voting days.

Per-voter recursion for FIFO multi-server stages: a voter takes the server that can start
them earliest (Kiefer-Wolfowitz), so the start time of every voter is known when the voter is
processed, in arrival order. Balking, the outside cap and the ballot stock act on the first
stage (the queue outside); reneging (on the total wait so far) and the close cutoff act on every
stage of the line (the first ``line_stages``, e.g. security then the desks: someone who reaches
the desks after the cutoff is served only if a desk is free); later stages are processed in the
order voters reach them and always serve. Random variates are drawn by the caller (numpy
Generator, in bulk) and passed in, so the same draws can be fed to a reference model.

Outcome codes per voter: see ``SERVED`` ... ``TURNED_AWAY_CAP``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

SERVED = 0
TURNED_AWAY_CLOSE = 1
TURNED_AWAY_NO_BALLOTS = 2
RENEGED = 3
BALKED = 4
TURNED_AWAY_CAP = 5
N_OUTCOMES = 6

# Columns of the per-day statistics row.
COL_COUNTS = 0  # N_OUTCOMES columns, in outcome-code order, then:
COL_ARRIVALS = 6
COL_WAIT_MEAN = 7
COL_WAIT_P50 = 8
COL_WAIT_P90 = 9
COL_WAIT_P95 = 10
COL_WAIT_P99 = 11
COL_WAIT_MAX = 12
COL_MAX_LINE = 13
COL_LAST_LEAVE = 14
COL_SL_HITS = 15  # served voters with wait <= target
COL_UTIL = 16  # one column per stage (busy / available server-minutes)
N_FIXED_COLS = 16

INF = np.inf


class StationArrays(NamedTuple):
    """A station spec as the kernel reads it (built once per spec by ``station.prepare``).

    Per day: opening, closing and cutoff minute (``inf``: serve everyone in line) and the
    number of line samples. Per stage s: server steps ``sched_t/sched_c[sched_off[s]:
    sched_off[s+1]]`` and the most servers at once. ``balk``, ``cap``, ``ballots``: -1 for
    none; ``line_stages`` leading stages form the line; ``grid_step`` minutes between line
    samples. ``already_in_line``: the first this many voters of the first day were in line
    before the day began (a nowcast's present line, not a plan's early line): the cap and
    balking do not send them away, while they count toward both for everyone after them
    (0 for a plan)."""

    day_open: np.ndarray
    day_close: np.ndarray
    day_cutoff: np.ndarray
    day_grid_n: np.ndarray
    sched_off: np.ndarray
    sched_t: np.ndarray
    sched_c: np.ndarray
    max_servers: np.ndarray
    balk: int
    cap: int
    ballots: int
    line_stages: int
    grid_step: float
    already_in_line: int


class ArrivalCurve(NamedTuple):
    """Day d's arrival intensity: piecewise constant between ``bp_t[bp_off[d]:bp_off[d+1]]``
    with cumulative expected arrivals ``bp_cum``; ``early[d]`` voters wait at ``day_open[d]``."""

    bp_t: np.ndarray
    bp_cum: np.ndarray
    bp_off: np.ndarray
    early: np.ndarray
    day_open: np.ndarray


class Durations(NamedTuple):
    """How row r of standard variates becomes durations: ``kinds[r]`` (``sampling.KIND_*``),
    parameters ``p1[r]``, ``p2[r]``, an empirical table ``table[table_off[r]:table_off[r+1]]``."""

    kinds: np.ndarray
    p1: np.ndarray
    p2: np.ndarray
    table: np.ndarray
    table_off: np.ndarray


class Voters(NamedTuple):
    """One replication's voters: day d's are ``arrivals[arr_off[d]:arr_off[d+1]]`` (sorted),
    with their ``patience`` and ``service[s]`` times at the same positions."""

    arr_off: np.ndarray
    arrivals: np.ndarray
    patience: np.ndarray
    service: np.ndarray


@njit(cache=True, inline="always")
def _next_avail(st: np.ndarray, sc: np.ndarray, lo: int, hi: int, k: int, t: float) -> float:
    """Earliest time >= t at which server k of a stage (steps st/sc[lo:hi]) is on duty."""
    if hi - lo == 1:
        return t if sc[lo] > k else INF
    m = lo
    while m + 1 < hi and st[m + 1] <= t:
        m += 1
    if sc[m] > k:
        return t
    m += 1
    while m < hi:
        if sc[m] > k:
            return float(st[m])
        m += 1
    return INF


@njit(cache=True, inline="always")
def _earliest_server(
    free: np.ndarray,
    c: int,
    constant: bool,
    sched_t: np.ndarray,
    sched_c: np.ndarray,
    lo: int,
    hi: int,
    t: float,
) -> tuple[float, int]:
    """(earliest start at or after ``t``, server) over a stage's ``c`` servers; with a
    schedule, a server counts only when it is on duty."""
    if constant:
        bk = 0
        best = free[0]
        for k in range(1, c):
            if free[k] < best:
                best = free[k]
                bk = k
        return max(best, t), bk
    best = INF
    bk = -1
    for k in range(c):
        s_k = _next_avail(sched_t, sched_c, lo, hi, k, max(t, free[k]))
        if s_k < best:
            best = s_k
            bk = k
    return best, bk


@njit(cache=True, inline="always")
def _line_fate(t: float, best: float, patience_left: float, cutoff: float) -> tuple[int, float]:
    """(outcome, time the voter leaves the queue) at a stage of the line reached at ``t`` whose
    earliest start is ``best``: turned away if still waiting at the cutoff (unless they gave up
    before it), reneged if the start comes after their patience, else served at ``best``."""
    if best > cutoff and best > t:
        if t + patience_left <= cutoff:
            return RENEGED, t + patience_left
        return TURNED_AWAY_CLOSE, max(cutoff, t)
    if best - t > patience_left:
        return RENEGED, t + patience_left
    return SERVED, best


@njit(cache=True)
def _server_minutes(st: np.ndarray, sc: np.ndarray, lo: int, hi: int, a: float, b: float) -> float:
    """Integral of the server count over [a, b]."""
    total = 0.0
    for m in range(lo, hi):
        s0 = -INF if m == lo else st[m]
        s1 = INF if m + 1 == hi else st[m + 1]
        x0 = max(a, s0)
        x1 = min(b, s1)
        if x1 > x0:
            total += sc[m] * (x1 - x0)
    return total


@njit(cache=True)
def _heap_push(h: np.ndarray, size: int, v: float) -> int:
    i = size
    h[i] = v
    while i > 0:
        parent = (i - 1) >> 1
        if h[parent] <= h[i]:
            break
        h[parent], h[i] = h[i], h[parent]
        i = parent
    return size + 1


@njit(cache=True)
def _heap_pop(h: np.ndarray, size: int) -> int:
    size -= 1
    h[0] = h[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        j = left
        if left + 1 < size and h[left + 1] < h[left]:
            j = left + 1
        if h[i] <= h[j]:
            break
        h[i], h[j] = h[j], h[i]
        i = j
    return size


@njit(cache=True)
def _select_ranks(w: np.ndarray, n: int, ranks: np.ndarray, wmax: float) -> np.ndarray:
    """Order statistics ``sorted(w[:n])[ranks]`` without sorting everything: bucket the
    values, then sort only the buckets that hold a wanted rank (exact)."""
    nb = 512
    out = np.empty(ranks.shape[0])
    if wmax <= 0.0:
        out[:] = 0.0
        return out
    scale = nb / wmax
    counts = np.zeros(nb + 1, dtype=np.int64)
    for i in range(n):
        b = int(w[i] * scale)
        if b >= nb:
            b = nb - 1
        counts[b + 1] += 1
    for b in range(nb):
        counts[b + 1] += counts[b]  # counts[b] = number of values in buckets < b
    want = np.zeros(nb, dtype=np.bool_)
    rank_bucket = np.empty(ranks.shape[0], dtype=np.int64)
    for j in range(ranks.shape[0]):
        r = ranks[j]
        b = np.searchsorted(counts, r, side="right") - 1
        rank_bucket[j] = b
        want[b] = True
    fill = np.zeros(nb, dtype=np.int64)
    buf = np.empty(n)
    for i in range(n):
        b = int(w[i] * scale)
        if b >= nb:
            b = nb - 1
        if want[b]:
            buf[counts[b] + fill[b]] = w[i]
            fill[b] += 1
    for b in range(nb):
        if want[b] and fill[b] > 1:
            buf[counts[b] : counts[b] + fill[b]] = np.sort(buf[counts[b] : counts[b] + fill[b]])
    for j in range(ranks.shape[0]):
        out[j] = buf[ranks[j]]
    return out


_QUANTILES = (0.5, 0.9, 0.95, 0.99)


@njit(cache=True)
def _wait_stats(w: np.ndarray, n: int, target: float, row: np.ndarray) -> None:
    if n == 0:
        for c in range(COL_WAIT_MEAN, COL_WAIT_MAX + 1):
            row[c] = np.nan
        row[COL_SL_HITS] = 0.0
        return
    total = 0.0
    wmax = 0.0
    hits = 0
    for i in range(n):
        total += w[i]
        if w[i] > wmax:
            wmax = w[i]
        if w[i] <= target:
            hits += 1
    ranks = np.empty(2 * len(_QUANTILES), dtype=np.int64)
    for j, q in enumerate(_QUANTILES):
        pos = q * (n - 1)
        lo = int(np.floor(pos))
        ranks[2 * j] = lo
        ranks[2 * j + 1] = min(lo + 1, n - 1)
    vals = _select_ranks(w, n, ranks, wmax)
    for j, q in enumerate(_QUANTILES):
        pos = q * (n - 1)
        frac = pos - np.floor(pos)
        row[COL_WAIT_P50 + j] = vals[2 * j] + (vals[2 * j + 1] - vals[2 * j]) * frac
    row[COL_WAIT_MEAN] = total / n
    row[COL_WAIT_MAX] = wmax
    row[COL_SL_HITS] = hits


@njit(cache=True)
def transform_durations(m: np.ndarray, how: Durations) -> None:
    """Turn rows of standard variates into durations in place (see ``sampling.KIND_*``)."""
    table = how.table
    table_off = how.table_off
    for r in range(m.shape[0]):
        kind = how.kinds[r]
        a = how.p1[r]
        b = how.p2[r]
        row = m[r]
        if kind == 0:
            row[:] = INF
        elif kind == 1:
            for i in range(row.shape[0]):
                row[i] = a * row[i]
        elif kind == 2:
            for i in range(row.shape[0]):
                row[i] = np.exp(a + b * row[i])
        elif kind == 3:
            row[:] = a
        elif kind == 4:
            for i in range(row.shape[0]):
                row[i] = a + b * row[i]
        else:
            lo = table_off[r]
            k = table_off[r + 1] - lo
            for i in range(row.shape[0]):
                j = int(row[i] * k)
                row[i] = table[lo + min(j, k - 1)]


@njit(cache=True)
def build_arrivals(curve: ArrivalCurve, e: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Sorted arrival times of all days by inverting the cumulative arrival intensity.

    ``bp_cum`` is 0 at each day's first breakpoint. ``e`` holds standard exponential gaps,
    consumed in order (one overshoot per day is discarded). Returns (arrivals, arr_off[D+1],
    used); ``used < 0`` means ``e`` was too short.
    """
    bp_t = curve.bp_t
    bp_cum = curve.bp_cum
    bp_off = curve.bp_off
    early = curve.early
    day_open = curve.day_open
    n_days = bp_off.shape[0] - 1
    n_early = 0
    for d in range(n_days):
        n_early += early[d]
    out = np.empty(e.shape[0] + n_early)
    arr_off = np.zeros(n_days + 1, dtype=np.int64)
    n = 0
    p = 0
    m = e.shape[0]
    for d in range(n_days):
        for _ in range(early[d]):
            out[n] = day_open[d]
            n += 1
        lo = bp_off[d]
        hi = bp_off[d + 1]
        total = bp_cum[hi - 1]
        seg = lo
        x = 0.0
        while True:
            if p >= m:
                return out[:0], arr_off, -1
            x += e[p]
            p += 1
            if x >= total:
                break
            while bp_cum[seg + 1] <= x:
                seg += 1
            c0 = bp_cum[seg]
            c1 = bp_cum[seg + 1]
            t0 = bp_t[seg]
            out[n] = t0 + (bp_t[seg + 1] - t0) * (x - c0) / (c1 - c0)
            n += 1
        arr_off[d + 1] = n
    return out[:n], arr_off, p


@njit(cache=True)
def _max_line(joins: np.ndarray, leaves_a: np.ndarray, leaves_b: np.ndarray) -> int:
    """Largest number of people in the line at once: joins and both leave lists sorted; a
    leave at the same instant as a join counts first."""
    ia = 0
    ib = 0
    best = 0
    na = leaves_a.shape[0]
    nb = leaves_b.shape[0]
    for j in range(joins.shape[0]):
        t = joins[j]
        while ia < na and leaves_a[ia] <= t:
            ia += 1
        while ib < nb and leaves_b[ib] <= t:
            ib += 1
        cur = j + 1 - ia - ib
        if cur > best:
            best = cur
    return best


@njit(cache=True)
def _order_by(keys: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``idx`` stably sorted by ``keys[idx]``: insertion sort, fast on nearly sorted keys
    (departures from a FIFO stage are out of order by at most a few places)."""
    out = idx.copy()
    for j in range(1, out.shape[0]):
        v = out[j]
        kv = keys[v]
        i = j - 1
        while i >= 0 and keys[out[i]] > kv:
            out[i + 1] = out[i]
            i -= 1
        out[i + 1] = v
    return out


@njit(cache=True)
def run_replication(
    station: StationArrays, voters: Voters, target_wait: float, want_trace: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Simulate all days of one replication of ``station`` with ``voters``.

    Returns (stats[D+1, cols], line_grid (flat, day_grid_n[d] samples per day),
    outcome[N], start[S, N], wait[N]); the last three are empty unless ``want_trace``.
    Row D of stats is the whole run.
    """
    day_open = station.day_open
    day_close = station.day_close
    day_cutoff = station.day_cutoff
    day_grid_n = station.day_grid_n
    sched_off = station.sched_off
    sched_t = station.sched_t
    sched_c = station.sched_c
    max_servers = station.max_servers
    balk = station.balk
    cap = station.cap
    already_in_line = station.already_in_line
    ballots = station.ballots
    line_stages = station.line_stages
    grid_step = station.grid_step
    arr_off = voters.arr_off
    arrivals = voters.arrivals
    patience = voters.patience
    service = voters.service
    n_days = day_open.shape[0]
    n_stages = sched_off.shape[0] - 1
    n_total = arr_off[n_days]
    n_cols = N_FIXED_COLS + n_stages
    stats = np.zeros((n_days + 1, n_cols))
    grid_total = 0
    for d in range(n_days):
        grid_total += day_grid_n[d]
    line_grid = np.zeros(grid_total)
    tn = n_total if want_trace else 0
    t_outcome = np.full(tn, -1, dtype=np.int8)
    t_start = np.full((n_stages, tn), np.nan)
    t_wait = np.full(tn, np.nan)

    c_max = 1
    for s in range(n_stages):
        c_max = max(c_max, max_servers[s])
    free = np.empty(c_max)
    ballots_left = ballots  # < 0: unlimited
    exhausted_at = INF
    all_waits = np.empty(n_total if n_days > 1 else 0)
    n_all_waits = 0
    busy_total = np.zeros(n_stages)
    avail_total = np.zeros(n_stages)
    g0 = 0
    outcome = np.empty(n_total, dtype=np.int8)
    ready = np.empty(n_total)  # time the voter reaches the next stage
    wait = np.zeros(n_total)
    need_count = balk >= 0 or cap >= 0
    heap = np.empty(n_total + 1 if need_count else 1)
    line_join = np.empty(n_total)
    leave_served = np.empty(n_total)
    leave_other = np.empty(n_total)

    for d in range(n_days):
        a0 = arr_off[d]
        n = arr_off[d + 1] - a0
        open_m = day_open[d]
        close_m = day_close[d]
        cutoff = day_cutoff[d]
        row = stats[d]
        row[COL_ARRIVALS] = n
        if exhausted_at < INF:
            exhausted_at = -INF  # ran out on an earlier day: nobody gets a ballot today
        n_grid = day_grid_n[d]
        diff = np.zeros(n_grid + 1)  # line samples as a difference array
        hsize = 0
        n_line = 0
        n_ls = 0
        n_lo = 0
        last_leave = -INF

        # ---- stage 0: the line, with all the policies
        lo = sched_off[0]
        hi = sched_off[1]
        c0 = max_servers[0]
        const0 = hi - lo == 1
        for k in range(c0):
            free[k] = open_m
        busy = 0.0
        end0 = close_m
        n_served = 0
        for i in range(a0, a0 + n):
            t = arrivals[i]
            wait[i] = 0.0
            if need_count:
                while hsize > 0 and heap[0] <= t:
                    hsize = _heap_pop(heap, hsize)
            if ballots_left == 0 and t >= exhausted_at:
                outcome[i] = TURNED_AWAY_NO_BALLOTS
                last_leave = max(last_leave, t)
                continue
            kept = d == 0 and i - a0 < already_in_line
            if cap >= 0 and hsize >= cap and not kept:
                outcome[i] = TURNED_AWAY_CAP
                last_leave = max(last_leave, t)
                continue
            if balk >= 0 and hsize >= balk and not kept:
                outcome[i] = BALKED
                last_leave = max(last_leave, t)
                continue
            pat = patience[i]
            if ballots_left == 0:
                # in line when the ballots ran out (t < exhausted_at)
                if t + pat < exhausted_at:
                    outcome[i] = RENEGED
                    leave = t + pat
                else:
                    outcome[i] = TURNED_AWAY_NO_BALLOTS
                    leave = exhausted_at
            else:
                best, bk = _earliest_server(free, c0, const0, sched_t, sched_c, lo, hi, t)
                fate, leave = _line_fate(t, best, pat, cutoff)
                outcome[i] = fate
                if fate == SERVED:
                    n_served += 1
                    sv = service[0, i]
                    free[bk] = best + sv
                    busy += sv
                    wait[i] = best - t
                    ready[i] = best + sv
                    if ready[i] > end0:
                        end0 = ready[i]
                    if want_trace:
                        t_start[0, i] = best
                    if ballots_left > 0:
                        ballots_left -= 1
                        if ballots_left == 0:
                            exhausted_at = best
            if leave > last_leave:
                last_leave = leave
            if leave > t:
                line_join[n_line] = t
                if outcome[i] == SERVED:
                    leave_served[n_ls] = leave
                    n_ls += 1
                else:
                    leave_other[n_lo] = leave
                    n_lo += 1
                n_line += 1
                if need_count:
                    hsize = _heap_push(heap, hsize, leave)
                # in the line at samples g with t <= open + g*step < leave
                g_in = int(np.ceil((t - open_m) / grid_step))
                # those turned away at closing still count in the sample taken at closing
                g_leave = leave + 1e-9 if outcome[i] == TURNED_AWAY_CLOSE else leave
                g_out = n_grid if leave == INF else int(np.ceil((g_leave - open_m) / grid_step))
                g_in = min(max(g_in, 0), n_grid)
                g_out = min(max(g_out, 0), n_grid)
                if g_out > g_in:
                    diff[g_in] += 1.0
                    diff[g_out] -= 1.0
        row[COL_MAX_LINE] = _max_line(
            line_join[:n_line], leave_served[:n_ls], np.sort(leave_other[:n_lo])
        )
        acc = 0.0
        for g in range(n_grid):
            acc += diff[g]
            line_grid[g0 + g] = acc
        g0 += n_grid

        idx = np.empty(n_served, dtype=np.int64)
        j = 0
        for i in range(a0, a0 + n):
            if outcome[i] == SERVED:
                idx[j] = i
                j += 1
        busy_total[0] += busy
        av = _server_minutes(sched_t, sched_c, lo, hi, open_m, end0)
        avail_total[0] += av
        row[N_FIXED_COLS] = busy / av if av > 0 else np.nan

        # ---- later stages: FIFO in order of reaching them; stages of the line (s <
        # line_stages) keep the patience (total wait so far) and the close cutoff
        for s in range(1, n_stages):
            lo = sched_off[s]
            hi = sched_off[s + 1]
            cs = max_servers[s]
            const_s = hi - lo == 1
            in_line = s < line_stages
            for k in range(cs):
                free[k] = open_m
            order = _order_by(ready, idx)
            busy = 0.0
            end_s = close_m
            n_left = 0
            for j in range(n_served):
                i = order[j]
                t = ready[i]
                best, bk = _earliest_server(free, cs, const_s, sched_t, sched_c, lo, hi, t)
                if in_line:
                    fate, leave = _line_fate(t, best, patience[i] - wait[i], cutoff)
                    if fate != SERVED:
                        outcome[i] = fate
                        n_left += 1
                        if leave > last_leave:
                            last_leave = leave
                        continue
                sv = service[s, i]
                free[bk] = best + sv
                busy += sv
                wait[i] += best - t
                ready[i] = best + sv
                if ready[i] > end_s:
                    end_s = ready[i]
                if want_trace:
                    t_start[s, i] = best
            busy_total[s] += busy
            av = _server_minutes(sched_t, sched_c, lo, hi, open_m, end_s)
            avail_total[s] += av
            row[N_FIXED_COLS + s] = busy / av if av > 0 else np.nan
            if n_left > 0:
                kept = np.empty(n_served - n_left, dtype=np.int64)
                j = 0
                for q in range(n_served):
                    if outcome[idx[q]] == SERVED:
                        kept[j] = idx[q]
                        j += 1
                idx = kept
                n_served = n_served - n_left

        # ---- counts, waits
        for i in range(a0, a0 + n):
            row[COL_COUNTS + outcome[i]] += 1.0
        w = np.empty(n_served)
        for j in range(n_served):
            i = idx[j]
            w[j] = wait[i]
            if ready[i] > last_leave:
                last_leave = ready[i]
        if n_days > 1:
            all_waits[n_all_waits : n_all_waits + n_served] = w
            n_all_waits += n_served
        _wait_stats(w, n_served, target_wait, row)
        row[COL_LAST_LEAVE] = last_leave if last_leave > -INF else np.nan
        if want_trace:
            for i in range(a0, a0 + n):
                t_outcome[i] = outcome[i]
                if outcome[i] == SERVED:
                    t_wait[i] = wait[i]

    # ---- whole run
    tot = stats[n_days]
    if n_days == 1:
        tot[:] = stats[0]
    else:
        for d in range(n_days):
            for c in range(COL_COUNTS, COL_ARRIVALS + 1):
                tot[c] += stats[d, c]
            tot[COL_MAX_LINE] = max(tot[COL_MAX_LINE], stats[d, COL_MAX_LINE])
        tot[COL_LAST_LEAVE] = stats[n_days - 1, COL_LAST_LEAVE]
        _wait_stats(all_waits, n_all_waits, target_wait, tot)
        for s in range(n_stages):
            tot[N_FIXED_COLS + s] = busy_total[s] / avail_total[s] if avail_total[s] > 0 else np.nan
    return stats, line_grid, t_outcome, t_start, t_wait
