"""A local fake cloud speaking the real Azure Resource Manager and Google REST wire formats."""
