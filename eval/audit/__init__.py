"""The trust audit: group fairness of rankings, its monitor, stress experiments and the report."""
