"""The partner-merchant face (`/partner/v1`): API keys, verify, sales, settlement. Arrives with the partner-API issue."""
