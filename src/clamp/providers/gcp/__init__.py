"""Google Cloud driver: Compute Engine and Resource Manager through google-cloud SDKs."""
