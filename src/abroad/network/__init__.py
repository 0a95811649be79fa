"""A scenario turned into a network: catchments, per-station simulator specs and simulations,
station responses and the planning instance. Pure: no I/O; imports only the model and the
numeric core.

- :mod:`abroad.network.catchments`: who is nearest to which open station, and how far;
- :mod:`abroad.network.simulation`: one ``StationSpec`` per open station from the demand
  model's arrival profile, simulated;
- :mod:`abroad.network.problem`: each candidate station's response by simulation and the
  ``PlanningInstance`` built on them (``build_network_problem``).
"""
