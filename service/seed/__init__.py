"""Seed files to articles: decoding, dates, the news-dump format, front matter, folder rules."""
