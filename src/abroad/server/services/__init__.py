"""What the routes and the CLI both do to stored data; each writes its audit entries."""
