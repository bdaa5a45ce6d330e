"""Ranking models (LightGBM LambdaRank), training and the MLflow registry. Filled by the learning-to-rank issue."""
