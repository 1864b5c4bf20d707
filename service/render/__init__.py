"""The model to bytes: Atom and RSS, JSON Feed, OPML, HTML pages."""
