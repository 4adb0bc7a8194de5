"""Alliance merchants (联盟商家): stores, tier discounts, API keys, sales and settlement."""
