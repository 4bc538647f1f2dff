"""Training-management API: thin views that parse, call a service or selector, and answer."""
