"""The steps of an assessment run (reasoning/assess.py), one module per family of models.

Each `step_*` reads its facts (reasoning/graph_facts.py), runs a pure model (reasoning/models/),
writes the results back (reasoning/writeback.py) and returns ModelRuns.
"""
