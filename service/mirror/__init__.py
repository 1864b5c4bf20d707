"""The bucket mirror: what the web serves, kept in S3-compatible object storage after
every pass (``--publish-to``), in dependency order, with a record of what the bucket
holds, a lock per prefix, retries, CDN purges and ``seedfeeds sync``."""
