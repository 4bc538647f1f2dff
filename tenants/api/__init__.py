"""The tenant API shell: API-key and staff authentication, scopes, plan rate limits and the base views."""
