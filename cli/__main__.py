"""`python -m riskgraph.cli` runs the command line (the tests use it in subprocesses)."""
from riskgraph.cli.main import main

raise SystemExit(main())
