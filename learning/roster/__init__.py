"""Groups (with their learners) and sites over the API."""
