"""Statistics of a dataset and of a model's scores: DataStatistics, PSI, Scorecard."""
