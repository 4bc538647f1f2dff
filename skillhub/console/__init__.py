"""The console: the Django admin site extended with tenant pages, login throttling and static assets."""
