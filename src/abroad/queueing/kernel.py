"""The compiled core: one replication of one station over all its voting days.

Per-voter recursion for FIFO multi-server stages: a voter takes the server that can start
them earliest (Kiefer-Wolfowitz), so the start time of every voter is known when the voter is
processed, in arrival order. Reneging, balking, the outside cap, the close policy and the ballot
stock all act on the first stage (the line); later stages are processed in the order voters
reach them. Random variates are drawn by the caller (numpy Generator, in bulk) and passed in,
so the same draws can be fed to a reference model.

Outcome codes per voter: see ``SERVED`` ... ``TURNED_AWAY_CAP``.
"""

from __future__ import annotations

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
            return st[m]
        m += 1
    return INF


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
def _quantile_sorted(x: np.ndarray, n: int, q: float) -> float:
    """Linear-interpolation quantile (numpy's default) of sorted x[:n]."""
    if n == 0:
        return np.nan
    pos = q * (n - 1)
    i = int(np.floor(pos))
    if i >= n - 1:
        return x[n - 1]
    frac = pos - i
    return x[i] + (x[i + 1] - x[i]) * frac


@njit(cache=True)
def _wait_stats(w: np.ndarray, n: int, target: float, row: np.ndarray) -> None:
    if n == 0:
        for c in range(COL_WAIT_MEAN, COL_WAIT_MAX + 1):
            row[c] = np.nan
        row[COL_SL_HITS] = 0.0
        return
    ws = np.sort(w[:n])
    row[COL_WAIT_MEAN] = ws.sum() / n
    row[COL_WAIT_P50] = _quantile_sorted(ws, n, 0.5)
    row[COL_WAIT_P90] = _quantile_sorted(ws, n, 0.9)
    row[COL_WAIT_P95] = _quantile_sorted(ws, n, 0.95)
    row[COL_WAIT_P99] = _quantile_sorted(ws, n, 0.99)
    row[COL_WAIT_MAX] = ws[n - 1]
    row[COL_SL_HITS] = np.searchsorted(ws, target, side="right")


@njit(cache=True)
def build_arrivals(
    open_m: float,
    close_m: float,
    bin_minutes: float,
    counts: np.ndarray,
    u: np.ndarray,
    surge_at: np.ndarray,
    surge_sd: np.ndarray,
    surge_counts: np.ndarray,
    z: np.ndarray,
    early: int,
) -> np.ndarray:
    """Sorted arrival times of one day from its Poisson counts and standard variates."""
    n_prof = 0
    for j in range(counts.shape[0]):
        n_prof += counts[j]
    n_surge = 0
    for j in range(surge_counts.shape[0]):
        n_surge += surge_counts[j]
    out = np.empty(early + n_prof + n_surge)
    n = 0
    for _ in range(early):
        out[n] = open_m
        n += 1
    p = 0
    for j in range(counts.shape[0]):
        start = open_m + j * bin_minutes
        width = min(bin_minutes, close_m - start)
        for _ in range(counts[j]):
            out[n] = start + u[p] * width
            n += 1
            p += 1
    p = 0
    for j in range(surge_counts.shape[0]):
        for _ in range(surge_counts[j]):
            t = surge_at[j] + surge_sd[j] * z[p]
            p += 1
            if open_m <= t < close_m:
                out[n] = t
                n += 1
    res = out[:n]
    res.sort()
    return res


@njit(cache=True)
def run_replication(
    day_open: np.ndarray,
    day_close: np.ndarray,
    day_cutoff: np.ndarray,
    day_grid_n: np.ndarray,
    arr_off: np.ndarray,
    raw_off: np.ndarray,
    arrivals: np.ndarray,
    patience: np.ndarray,
    service: np.ndarray,
    sched_off: np.ndarray,
    sched_t: np.ndarray,
    sched_c: np.ndarray,
    max_servers: np.ndarray,
    balk: int,
    cap: int,
    ballots: int,
    grid_step: float,
    target_wait: float,
    want_trace: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Simulate all days of one replication.

    Day d's voters are ``arrivals[arr_off[d]:arr_off[d+1]]`` (sorted); their patience and
    service times start at ``raw_off[d]`` in ``patience`` and ``service[s]``.

    Returns (stats[D+1, cols], line_grid (flat, day_grid_n[d] samples per day),
    outcome[N], start[S, N], wait[N]); the last three are empty unless ``want_trace``.
    Row D of stats is the whole run.
    """
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
    need_count = balk >= 0 or cap >= 0
    ballots_left = ballots  # < 0: unlimited
    exhausted_at = INF
    all_waits = np.empty(n_total)
    n_all_waits = 0
    busy_total = np.zeros(n_stages)
    avail_total = np.zeros(n_stages)
    g0 = 0

    for d in range(n_days):
        a0 = arr_off[d]
        n = arr_off[d + 1] - a0
        r0 = raw_off[d]
        open_m = day_open[d]
        close_m = day_close[d]
        cutoff = day_cutoff[d]
        row = stats[d]
        row[COL_ARRIVALS] = n
        if exhausted_at < INF:
            exhausted_at = -INF  # ran out on an earlier day: nobody gets a ballot today

        outcome = np.empty(n, dtype=np.int8)
        ready = np.empty(n)  # time the voter reaches the current stage
        wait = np.zeros(n)
        start0 = np.empty(n)
        line_join = np.empty(n)
        line_leave = np.empty(n)
        n_line = 0
        heap = np.empty(n if need_count else 1)
        hsize = 0
        last_leave = -INF

        # ---- stage 0: the line, with all the policies
        lo = sched_off[0]
        hi = sched_off[1]
        c0 = max_servers[0]
        for k in range(c0):
            free[k] = open_m
        busy = 0.0
        end0 = close_m
        for i in range(n):
            t = arrivals[a0 + i]
            pat = patience[r0 + i]
            if ballots_left == 0 and t >= exhausted_at:
                outcome[i] = TURNED_AWAY_NO_BALLOTS
                last_leave = max(last_leave, t)
                continue
            if need_count:
                while hsize > 0 and heap[0] <= t:
                    hsize = _heap_pop(heap, hsize)
                if cap >= 0 and hsize >= cap:
                    outcome[i] = TURNED_AWAY_CAP
                    last_leave = max(last_leave, t)
                    continue
                if balk >= 0 and hsize >= balk:
                    outcome[i] = BALKED
                    last_leave = max(last_leave, t)
                    continue
            if ballots_left == 0:
                # in line when the ballots ran out (t < exhausted_at)
                if t + pat < exhausted_at:
                    outcome[i] = RENEGED
                    leave = t + pat
                else:
                    outcome[i] = TURNED_AWAY_NO_BALLOTS
                    leave = exhausted_at
            else:
                best = INF
                bk = -1
                for k in range(c0):
                    s_k = _next_avail(sched_t, sched_c, lo, hi, k, max(t, free[k]))
                    if s_k < best:
                        best = s_k
                        bk = k
                if best > cutoff:
                    if t + pat <= cutoff:
                        outcome[i] = RENEGED
                        leave = t + pat
                    else:
                        outcome[i] = TURNED_AWAY_CLOSE
                        leave = cutoff if cutoff < INF else t
                elif best - t > pat:
                    outcome[i] = RENEGED
                    leave = t + pat
                else:
                    outcome[i] = SERVED
                    leave = best
                    sv = service[0, r0 + i]
                    free[bk] = best + sv
                    busy += sv
                    start0[i] = best
                    wait[i] = best - t
                    ready[i] = best + sv
                    if ballots_left > 0:
                        ballots_left -= 1
                        if ballots_left == 0:
                            exhausted_at = best
            line_join[n_line] = t
            line_leave[n_line] = leave
            n_line += 1
            last_leave = max(last_leave, leave)
            if need_count:
                hsize = _heap_push(heap, hsize, leave)

        # served voters (those past the line), in arrival order
        n_served = 0
        for i in range(n):
            if outcome[i] == SERVED:
                n_served += 1
        idx = np.empty(n_served, dtype=np.int64)
        j = 0
        for i in range(n):
            if outcome[i] == SERVED:
                idx[j] = i
                j += 1
                end0 = max(end0, ready[i])
        busy_total[0] += busy
        av = _server_minutes(sched_t, sched_c, lo, hi, open_m, end0)
        avail_total[0] += av
        row[N_FIXED_COLS] = busy / av if av > 0 else np.nan
        if want_trace:
            for j in range(n_served):
                t_start[0, a0 + idx[j]] = start0[idx[j]]

        # ---- later stages: FIFO in order of reaching them
        for s in range(1, n_stages):
            lo = sched_off[s]
            hi = sched_off[s + 1]
            cs = max_servers[s]
            for k in range(cs):
                free[k] = open_m
            keys = np.empty(n_served)
            for j in range(n_served):
                keys[j] = ready[idx[j]]
            order = idx[np.argsort(keys, kind="mergesort")]
            busy = 0.0
            end_s = close_m
            for j in range(n_served):
                i = order[j]
                t = ready[i]
                best = INF
                bk = -1
                for k in range(cs):
                    s_k = _next_avail(sched_t, sched_c, lo, hi, k, max(t, free[k]))
                    if s_k < best:
                        best = s_k
                        bk = k
                sv = service[s, r0 + i]
                free[bk] = best + sv
                busy += sv
                wait[i] += best - t
                ready[i] = best + sv
                if ready[i] > end_s:
                    end_s = ready[i]
                if want_trace:
                    t_start[s, a0 + i] = best
            busy_total[s] += busy
            av = _server_minutes(sched_t, sched_c, lo, hi, open_m, end_s)
            avail_total[s] += av
            row[N_FIXED_COLS + s] = busy / av if av > 0 else np.nan

        # ---- counts, waits
        for i in range(n):
            row[COL_COUNTS + outcome[i]] += 1.0
        w = np.empty(n_served)
        for j in range(n_served):
            i = idx[j]
            w[j] = wait[i]
            all_waits[n_all_waits] = wait[i]
            n_all_waits += 1
            if ready[i] > last_leave:
                last_leave = ready[i]
        _wait_stats(w, n_served, target_wait, row)
        row[COL_LAST_LEAVE] = last_leave if last_leave > -INF else np.nan
        if want_trace:
            for i in range(n):
                t_outcome[a0 + i] = outcome[i]
                if outcome[i] == SERVED:
                    t_wait[a0 + i] = wait[i]

        # ---- the line over time: samples every grid_step from opening, and its maximum
        joins = line_join[:n_line]  # already sorted (arrival order)
        leaves = np.sort(line_leave[:n_line])
        jj = 0
        ll = 0
        for g in range(day_grid_n[d]):
            tg = open_m + g * grid_step
            while jj < n_line and joins[jj] <= tg:
                jj += 1
            while ll < n_line and leaves[ll] <= tg:
                ll += 1
            line_grid[g0 + g] = jj - ll
        g0 += day_grid_n[d]
        jj = 0
        ll = 0
        cur = 0
        best_line = 0
        while jj < n_line:
            if ll < n_line and leaves[ll] <= joins[jj]:
                cur -= 1
                ll += 1
            else:
                cur += 1
                jj += 1
                if cur > best_line:
                    best_line = cur
        row[COL_MAX_LINE] = best_line

    # ---- whole run
    tot = stats[n_days]
    for d in range(n_days):
        for c in range(COL_COUNTS, COL_ARRIVALS + 1):
            tot[c] += stats[d, c]
        tot[COL_MAX_LINE] = max(tot[COL_MAX_LINE], stats[d, COL_MAX_LINE])
    tot[COL_LAST_LEAVE] = stats[n_days - 1, COL_LAST_LEAVE]
    _wait_stats(all_waits, n_all_waits, target_wait, tot)
    for s in range(n_stages):
        tot[N_FIXED_COLS + s] = busy_total[s] / avail_total[s] if avail_total[s] > 0 else np.nan
    return stats, line_grid, t_outcome, t_start, t_wait
