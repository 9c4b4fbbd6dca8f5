"""Example strategies: run them by reference from the ``examples/`` folder, e.g.
``research-lab backtest --strategy strategies.sma_crossover.SMACrossover --symbols SPY``, or
register the folder with ``RESEARCH_LAB_STRATEGIES=examples/strategies`` (see
docs/strategies.md)."""
