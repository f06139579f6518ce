"""The `riskgraph` command line: the one entry point over the store, the loaders, the models and the service."""
