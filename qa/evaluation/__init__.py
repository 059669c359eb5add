"""Eval sets, metrics, the eval report, the tuners of the fitted models, the retrieval sweep."""
