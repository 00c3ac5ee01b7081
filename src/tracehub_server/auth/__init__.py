"""Authentication and authorisation shared by the JSON API and the dashboard."""
