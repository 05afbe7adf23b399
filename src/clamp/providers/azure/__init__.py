"""Microsoft Azure driver: Resource Manager through the official azure-mgmt SDKs."""
