"""Consular outreach tours: which cities a mission's teams visit, for how many days, in what
order (pure core: problem, demand of a visit, solvers, feasibility, dates)."""
