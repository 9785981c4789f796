"""Apps: the typer CLI, the FastAPI app and its static page."""
