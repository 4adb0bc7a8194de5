"""The partner-merchant face (`/partner/v1`): API keys, verify, sales, reversals, settlement."""
