"""seedfeeds: a self-hosted feed publisher for plain-text news files."""
