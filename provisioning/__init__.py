"""Provisioning: SCIM 2.0 for identity providers and the console's CSV import of learners."""
