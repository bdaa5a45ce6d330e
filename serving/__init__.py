"""FastAPI app serving offer alerts, vivier sourcing and POE suggestions. Filled by the serving issue."""
